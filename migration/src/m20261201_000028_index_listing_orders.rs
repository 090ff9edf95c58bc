//! Indexes every listing order with its tie-breaker: `(community_id, key, id)` for a
//! community's listing and `(key, id)` for the listing of all communities, for each of the four
//! sorts (score, HOT rank, comment count, creation time), so that any page is a range scan that
//! stops after the page instead of a sort of the whole community; `comment (suggestion_id,
//! created_at, id)`, the order of a suggestion's comments, so its first page reads only that
//! page; and `tally_change (suggestion_id, id)`, for a later page's look-up of what changed
//! since its first.

use sea_orm_migration::prelude::*;

use super::m20261124_000007_create_suggestion::Suggestion;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The indexes this migration replaces (the key without the tie-breaker).
const REPLACED: [(&str, Suggestion); 3] = [
    ("suggestion_community_created_idx", Suggestion::CreatedAt),
    ("suggestion_community_score_idx", Suggestion::Score),
    ("suggestion_community_hot_idx", Suggestion::HotRank),
];

/// The sort keys, each indexed per community and overall, with `id` after it.
const KEYS: [(&str, Suggestion); 4] = [
    ("score", Suggestion::Score),
    ("hot", Suggestion::HotRank),
    ("comments", Suggestion::CommentCount),
    ("created", Suggestion::CreatedAt),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, key) in KEYS {
            manager
                .create_index(
                    Index::create()
                        .name(format!("suggestion_community_{name}_id_idx"))
                        .table(Suggestion::Table)
                        .col(Suggestion::CommunityId)
                        .col(key)
                        .col(Suggestion::Id)
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name(format!("suggestion_{name}_id_idx"))
                        .table(Suggestion::Table)
                        .col(key)
                        .col(Suggestion::Id)
                        .to_owned(),
                )
                .await?;
        }
        for (name, _) in REPLACED {
            manager
                .drop_index(Index::drop().name(name).table(Suggestion::Table).to_owned())
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("comment_suggestion_created_id_idx")
                    .table(Comment::Table)
                    .col(Comment::SuggestionId)
                    .col(Comment::CreatedAt)
                    .col(Comment::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("tally_change_suggestion_id_idx")
                    .table(TallyChange::Table)
                    .col(TallyChange::SuggestionId)
                    .col(TallyChange::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, key) in REPLACED {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Suggestion::Table)
                        .col(Suggestion::CommunityId)
                        .col(key)
                        .to_owned(),
                )
                .await?;
        }
        for (name, _) in KEYS {
            for index in [
                format!("suggestion_community_{name}_id_idx"),
                format!("suggestion_{name}_id_idx"),
            ] {
                manager
                    .drop_index(
                        Index::drop()
                            .name(index)
                            .table(Suggestion::Table)
                            .to_owned(),
                    )
                    .await?;
            }
        }
        manager
            .drop_index(
                Index::drop()
                    .name("comment_suggestion_created_id_idx")
                    .table(Comment::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("tally_change_suggestion_id_idx")
                    .table(TallyChange::Table)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum TallyChange {
    Table,
    Id,
    SuggestionId,
}

#[derive(DeriveIden)]
enum Comment {
    Table,
    Id,
    SuggestionId,
    CreatedAt,
}
