//! Creates the change index: `sync_entity` (each entity's latest change per scope, with its
//! seq and op, tombstones included) and `sync_field_version` (the seq and client group of the
//! last write to each field, for field merges).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SyncEntity::Table)
                    .if_not_exists()
                    .col(string_len(SyncEntity::Scope, 64))
                    .col(string_len(SyncEntity::Entity, 32))
                    .col(uuid(SyncEntity::EntityId))
                    .col(big_integer(SyncEntity::Seq))
                    .col(integer(SyncEntity::OpIndex))
                    .col(string_len(SyncEntity::Op, 8))
                    .col(integer(SyncEntity::Version))
                    .col(timestamp_with_time_zone(SyncEntity::ChangedAt))
                    .primary_key(
                        Index::create()
                            .col(SyncEntity::Scope)
                            .col(SyncEntity::Entity)
                            .col(SyncEntity::EntityId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sync_entity_scope_seq_idx")
                    .table(SyncEntity::Table)
                    .col(SyncEntity::Scope)
                    .col(SyncEntity::Seq)
                    .col(SyncEntity::OpIndex)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sync_entity_tombstone_idx")
                    .table(SyncEntity::Table)
                    .col(SyncEntity::Op)
                    .col(SyncEntity::ChangedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SyncFieldVersion::Table)
                    .if_not_exists()
                    .col(string_len(SyncFieldVersion::Entity, 32))
                    .col(uuid(SyncFieldVersion::EntityId))
                    .col(string_len(SyncFieldVersion::Field, 32))
                    .col(big_integer(SyncFieldVersion::Seq))
                    .col(uuid_null(SyncFieldVersion::ClientGroupId))
                    .primary_key(
                        Index::create()
                            .col(SyncFieldVersion::Entity)
                            .col(SyncFieldVersion::EntityId)
                            .col(SyncFieldVersion::Field),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SyncFieldVersion::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SyncEntity::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum SyncEntity {
    Table,
    Scope,
    Entity,
    EntityId,
    Seq,
    OpIndex,
    Op,
    Version,
    ChangedAt,
}

#[derive(DeriveIden)]
enum SyncFieldVersion {
    Table,
    Entity,
    EntityId,
    Field,
    Seq,
    ClientGroupId,
}
