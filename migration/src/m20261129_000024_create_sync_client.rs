//! Creates the sync client tables: `sync_client_group` (a device, bound to one user),
//! `sync_client` (an outbox and its last mutation id) and `sync_mutation_ledger` (each
//! mutation's outcome and stored result until the client acknowledges it).

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261123_000001_create_user::User;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncClientGroup::Table)
                    .if_not_exists()
                    .col(pk_uuid(SyncClientGroup::Id))
                    .col(uuid(SyncClientGroup::UserId))
                    .col(timestamp_with_time_zone(SyncClientGroup::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncClientGroup::Table, SyncClientGroup::UserId)
                            .to(User::Table, User::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SyncClient::Table)
                    .if_not_exists()
                    .col(pk_uuid(SyncClient::Id))
                    .col(uuid(SyncClient::ClientGroupId))
                    .col(big_integer(SyncClient::LastMutationId).default(0))
                    .col(big_integer(SyncClient::LastMutationSeq).default(0))
                    .col(timestamp_with_time_zone(SyncClient::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncClient::Table, SyncClient::ClientGroupId)
                            .to(SyncClientGroup::Table, SyncClientGroup::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sync_client_group_seq_idx")
                    .table(SyncClient::Table)
                    .col(SyncClient::ClientGroupId)
                    .col(SyncClient::LastMutationSeq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SyncMutationLedger::Table)
                    .if_not_exists()
                    .col(uuid(SyncMutationLedger::ClientId))
                    .col(big_integer(SyncMutationLedger::MutationId))
                    .col(string_len(SyncMutationLedger::Name, 32))
                    .col(string_len(SyncMutationLedger::ArgsHash, 64))
                    .col(string_len(SyncMutationLedger::Outcome, 16))
                    .col(text(SyncMutationLedger::Result))
                    .col(big_integer_null(SyncMutationLedger::Seq))
                    .col(timestamp_with_time_zone(SyncMutationLedger::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(SyncMutationLedger::ClientId)
                            .col(SyncMutationLedger::MutationId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SyncMutationLedger::Table, SyncMutationLedger::ClientId)
                            .to(SyncClient::Table, SyncClient::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncMutationLedger::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SyncClient::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SyncClientGroup::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SyncClientGroup {
    Table,
    Id,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SyncClient {
    Table,
    Id,
    ClientGroupId,
    LastMutationId,
    LastMutationSeq,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SyncMutationLedger {
    Table,
    ClientId,
    MutationId,
    Name,
    ArgsHash,
    Outcome,
    Result,
    Seq,
    CreatedAt,
}
