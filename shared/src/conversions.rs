//! Conversions (`POST /api/artists/{artistId}/email/conversions`): the CRM's server reports a
//! ticket sold, a pre-save, a purchase… and we attribute it to the email that led to it.
//!
//! Attribution: by the click token of the link the person followed (the exact message, so its
//! campaign, A/B cohort, team and contact), or by the `utm_campaign` and `utm_content` our
//! links carry (the latest campaign of the artist with that `utm_campaign` sent in the window,
//! and the variant `utm_content` names; not the person). Either way the conversion must come
//! within [`ATTRIBUTION_DAYS`] of the message (or the campaign's start). A click token of
//! another artist's message is refused. Conversions are written once per CRM id: posting the
//! same one again answers it unchanged; the same id with other values is a conflict.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::auth::Caller;
use crate::domain::{
    ArtistId, AttributedBy, Attribution, Campaign, Conversion, ConversionId, ConversionKind,
    Counter, Money, VariantIndex,
};
use crate::render::TokenKind;
use crate::store::campaigns::{self as campaign_store, ListQuery};
use crate::store::conversions::{self as store, Written};
use crate::store::sends::{self, Send};
use crate::store::stats::{Changes, StatsKey};
use crate::store::team_list::Teams;
use crate::{ApiError, App};

/// How long after a message (or a campaign's start) a conversion is still its doing.
pub const ATTRIBUTION_DAYS: i64 = 30;

/// How far in the future a conversion's time may be: the CRM's clock may be ahead of ours.
const CLOCK_SKEW_MINUTES: i64 = 5;

/// Where the person came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The token of the tracked link they followed (`/api/email/track/click/{token}`).
    ClickToken(String),
    /// The UTM parameters of the page they landed on.
    Utm {
        campaign: String,
        content: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct NewConversion {
    pub artist: ArtistId,
    pub id: ConversionId,
    pub kind: ConversionKind,
    pub value: Money,
    /// When it happened; `None`: now.
    pub at: Option<DateTime<Utc>>,
    pub via: Via,
}

/// The conversion as recorded, and whether this call recorded it (not a replay).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub conversion: Conversion,
    pub created: bool,
}

fn unattributable(message: String) -> ApiError {
    ApiError::Unprocessable {
        code: "conversion_not_attributable",
        message,
        details: json!({ "attribution_days": ATTRIBUTION_DAYS }),
    }
}

pub async fn record(app: &App, caller: &Caller, new: NewConversion) -> Result<Recorded, ApiError> {
    caller.require_artist_wide(
        new.artist,
        "conversions are reported by the CRM's server, with a grant on every team of the artist",
    )?;
    let at_given = new.at.is_some();
    let at = new.at.unwrap_or_else(Utc::now);
    if at > Utc::now() + Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(ApiError::invalid_fields(vec![crate::FieldError::new(
            "at",
            "is in the future",
        )]));
    }
    let (attribution, send) = match &new.via {
        Via::ClickToken(token) => by_click(app, new.artist, token, at).await?,
        Via::Utm { campaign, content } => (
            by_utm(app, new.artist, campaign, content.as_deref(), at).await?,
            None,
        ),
    };
    let conversion = Conversion {
        id: new.id,
        artist_id: new.artist,
        kind: new.kind,
        value: new.value,
        at,
        attribution,
        recorded_at: Utc::now(),
    };
    let first = send.filter(|send| send.engagement.converted_at.is_none());
    let mut written = store::put(
        app,
        &conversion,
        &changes(&conversion, first.is_some()),
        first.as_ref(),
    )
    .await?;
    if written == Written::NotFirst {
        written = store::put(app, &conversion, &changes(&conversion, false), None).await?;
    }
    match written {
        Written::Written => {
            tracing::info!(artist = %conversion.artist_id, campaign = %conversion.attribution.campaign_id, "conversion recorded");
            Ok(Recorded {
                conversion,
                created: true,
            })
        }
        Written::Duplicate | Written::NotFirst => {
            let existing = store::get(app, conversion.artist_id, &conversion.id)
                .await?
                .ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!(
                        "a conversion refused as a duplicate is gone"
                    ))
                })?;
            if !existing.same_as(&conversion, at_given) {
                return Err(ApiError::Conflict {
                    code: "conversion_id_reused",
                    message: "a different conversion was recorded under this id".into(),
                    details: json!({ "id": existing.id }),
                });
            }
            Ok(Recorded {
                conversion: existing,
                created: false,
            })
        }
    }
}

/// What a conversion adds: to its campaign and its team's day, and (known by its click token)
/// to its A/B cohort; `first`: the message's first conversion, counted in `converted`.
pub(crate) fn changes(conversion: &Conversion, first: bool) -> Changes {
    let attribution = &conversion.attribution;
    let exact_cohort = (attribution.by == AttributedBy::ClickToken)
        .then_some(attribution.variant)
        .flatten()
        .map(|variant| {
            StatsKey::Cohort(
                attribution.campaign_id,
                (!attribution.winner_send).then_some(variant),
            )
        });
    let keys = [
        StatsKey::Campaign(attribution.campaign_id),
        StatsKey::TeamDay(
            conversion.artist_id,
            attribution.contact_role,
            conversion.at.date_naive(),
        ),
    ]
    .into_iter()
    .chain(exact_cohort);
    let mut changes = Changes::default();
    for key in keys {
        changes.add(key, Counter::Conversions, 1);
        changes.add_revenue(key, conversion.value);
        if first {
            changes.add(key, Counter::Converted, 1);
        }
    }
    changes
}

fn in_window(at: DateTime<Utc>, start: DateTime<Utc>) -> bool {
    at >= start - Duration::minutes(CLOCK_SKEW_MINUTES)
        && at <= start + Duration::days(ATTRIBUTION_DAYS)
}

async fn by_click(
    app: &App,
    artist: ArtistId,
    token: &str,
    at: DateTime<Utc>,
) -> Result<(Attribution, Option<Send>), ApiError> {
    let invalid = || {
        ApiError::invalid_fields(vec![crate::FieldError::new(
            "click_token",
            "is not the token of one of our tracked links",
        )])
    };
    let token = app
        .signer()?
        .verify(token)
        .filter(|token| token.kind == TokenKind::Click)
        .ok_or_else(invalid)?;
    let send = sends::by_id(app, token.send).await?.ok_or_else(invalid)?;
    if send.artist_id != artist {
        return Err(ApiError::forbidden(
            "the click token names another artist's message",
        ));
    }
    let sent = send.sent_at.unwrap_or(send.created_at);
    if !in_window(at, sent) {
        return Err(unattributable(format!(
            "the conversion is not within {ATTRIBUTION_DAYS} days after the message was sent ({sent})"
        )));
    }
    let attribution = Attribution {
        by: AttributedBy::ClickToken,
        campaign_id: send.campaign_id,
        contact_role: send.contact_role,
        send_id: Some(send.send_id),
        contact_id: Some(send.contact_id),
        variant: send.variant,
        winner_send: send.winner_send,
    };
    Ok((attribution, Some(send)))
}

/// The latest campaign of `artist` tagged `utm_campaign` and started in the window before `at`.
async fn by_utm(
    app: &App,
    artist: ArtistId,
    utm_campaign: &str,
    utm_content: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Attribution, ApiError> {
    let mut latest: Option<(DateTime<Utc>, Campaign)> = None;
    let mut after = None;
    loop {
        let page = campaign_store::list(
            app,
            &ListQuery {
                artist,
                teams: Teams::All,
                status: None,
                limit: 100,
                after,
            },
        )
        .await?;
        for campaign in page.items {
            let started = campaign.sent_at;
            if campaign.utm_campaign.as_deref() == Some(utm_campaign)
                && let Some(started) = started.filter(|started| in_window(at, *started))
                && latest.as_ref().is_none_or(|(when, _)| started > *when)
            {
                latest = Some((started, campaign));
            }
        }
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let (_, campaign) = latest.ok_or_else(|| {
        unattributable(format!(
            "no campaign of this artist with utm_campaign {utm_campaign:?} was sent in the {ATTRIBUTION_DAYS} days before the conversion"
        ))
    })?;
    let variant = utm_content
        .and_then(|content| VariantIndex::parse(content).ok())
        .filter(|variant| {
            campaign
                .ab_test
                .as_ref()
                .is_some_and(|test| variant.index() < test.variants.len())
        });
    Ok(Attribution {
        by: AttributedBy::Utm,
        campaign_id: campaign.id,
        contact_role: campaign.contact_role,
        send_id: None,
        contact_id: None,
        variant,
        winner_send: false,
    })
}
