//! Creates `release_item`: the lines of a release, in order, each optionally the suggestion
//! it ships (the user-sourced share of a release is its linked items over all).

use sea_orm_migration::{prelude::*, schema::*};

use super::m20261124_000007_create_suggestion::Suggestion;
use super::m20261201_000032_create_release::Release;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReleaseItem::Table)
                    .if_not_exists()
                    .col(uuid(ReleaseItem::ReleaseId))
                    .col(integer(ReleaseItem::Position))
                    .col(string_len(ReleaseItem::Title, 200))
                    .col(uuid_null(ReleaseItem::SuggestionId))
                    .primary_key(
                        Index::create()
                            .col(ReleaseItem::ReleaseId)
                            .col(ReleaseItem::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReleaseItem::Table, ReleaseItem::ReleaseId)
                            .to(Release::Table, Release::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReleaseItem::Table, ReleaseItem::SuggestionId)
                            .to(Suggestion::Table, Suggestion::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("release_item_suggestion_idx")
                    .table(ReleaseItem::Table)
                    .col(ReleaseItem::SuggestionId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ReleaseItem::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum ReleaseItem {
    Table,
    ReleaseId,
    Position,
    Title,
    SuggestionId,
}
