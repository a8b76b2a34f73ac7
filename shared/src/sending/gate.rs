//! The one readiness gate every start passes — send, the scheduler at the due time, resume,
//! an individual email, a test — and the freezing of what the campaign sends.
//!
//! At the gate the campaign's content is resolved (its template of the campaign's own team,
//! the creator's signature, the artist's sender profile) into a [`FrozenContent`], and checked:
//! the sender's domain is claimed, proven and verified for the campaign's artist; marketing
//! mail has the postal address its footer must show; the content compiles and passes the
//! blocking checks of #4 rendered for a real recipient. The start then writes the frozen copy
//! into the campaign with a condition on the version that was checked
//! (`lifecycle::begin`), so an edit between the check and the start makes the start fail
//! rather than slip through.

use chrono::Utc;
use serde_json::json;

use crate::auth::Caller;
use crate::campaigns;
use crate::domain::{
    ArtistIdentity, Campaign, CampaignKind, CampaignStatus, ConsentPolicy, Contact, ContactFields,
    ContactRole, ContactStatus, EmailAddress, FrozenContent, FrozenVariant, VariantIndex,
};
use crate::render::checks::Severity;
use crate::render::{
    ArtistVars, CampaignVars, ContactVars, Mailbox, MessageIds, PreviewInput, SenderVars, Shared,
    preview,
};
use crate::store::contacts as contact_store;
use crate::store::{sender_profiles, suppression, templates as template_store};
use crate::{ApiError, App, sender_domains};

/// Contacts read looking for a first recipient before saying there is none.
const SAMPLE_SEARCH_PAGES: usize = 5;

/// What the campaign would send if it started now: its frozen copy when it has started
/// already (a paused campaign resumes with what it began with), else resolved afresh. `caller`
/// is checked for the template's team when a person asks; the scheduler asks as the service.
async fn content(
    app: &App,
    caller: Option<&Caller>,
    campaign: &Campaign,
) -> Result<FrozenContent, ApiError> {
    if let Some(frozen) = &campaign.frozen
        && campaign.status != CampaignStatus::Draft
        && campaign.status != CampaignStatus::Scheduled
    {
        return Ok(frozen.clone());
    }
    let resolved = campaigns::resolve_content(
        app,
        caller,
        campaign.artist_id,
        campaign.contact_role,
        &campaign.content,
    )
    .await?;
    let signature = match resolved.append_signature {
        false => None,
        true => template_store::get_signature(
            app,
            campaign.artist_id,
            campaign.contact_role,
            &campaign.created_by,
        )
        .await?
        .map(|signature| signature.html),
    };
    let profile = sender_profiles::get(app, campaign.artist_id).await?;
    let variants = campaign.ab_test.as_ref().map_or_else(Vec::new, |test| {
        test.variants
            .iter()
            .map(|variant| FrozenVariant {
                sources: campaigns::variant_content(&resolved, variant).sources(signature.clone()),
                from_name: variant
                    .from_name
                    .clone()
                    .unwrap_or_else(|| campaign.sender.from_name.clone()),
            })
            .collect()
    });
    Ok(FrozenContent {
        sources: resolved.sources(signature),
        sender: campaign.sender.clone(),
        artist: ArtistIdentity {
            name: profile.as_ref().map_or_else(
                || campaign.sender.from_name.clone(),
                |p| p.display_name.clone(),
            ),
            postal_address: profile.as_ref().and_then(|p| p.postal_address.clone()),
        },
        language: resolved
            .language
            .or(profile.as_ref().map(|p| p.default_language)),
        variants,
        consent_policy: (campaign.kind == CampaignKind::Bulk).then(|| {
            profile.as_ref().map_or_else(
                || ConsentPolicy::default_for(campaign.contact_role),
                |p| p.consent_policy(campaign.contact_role),
            )
        }),
        frozen_at: Utc::now(),
    })
}

/// Whom the content is checked for, when it is not the campaign's first recipient.
#[derive(Debug, Clone, Copy)]
pub enum Sample<'a> {
    /// This contact (an individual email's, a test's chosen one).
    Contact(&'a Contact),
    /// Nobody: empty names, addressed to this address (a test of a campaign without
    /// recipients yet).
    Nobody(&'a EmailAddress),
}

impl Sample<'_> {
    /// The sample's values as a message renders them.
    pub fn vars(&self) -> ContactVars {
        match self {
            Sample::Contact(contact) => {
                ContactVars::from_contact(contact.email.as_str(), &contact.fields)
            }
            Sample::Nobody(address) => {
                ContactVars::from_contact(address.as_str(), &ContactFields::default())
            }
        }
    }

    /// Where the sample's message would go.
    fn address(&self) -> &str {
        match self {
            Sample::Contact(contact) => contact.email.ascii(),
            Sample::Nobody(address) => address.ascii(),
        }
    }
}

/// The gate: the campaign's content, checked as it would go now, for `sample` (`None`: its
/// first recipient, and a campaign with none is refused).
pub async fn ready(
    app: &App,
    caller: Option<&Caller>,
    campaign: &Campaign,
    sample: Option<Sample<'_>>,
) -> Result<FrozenContent, ApiError> {
    let frozen = content(app, caller, campaign).await?;
    sender_domains::require_verified(app, campaign.artist_id, &frozen.sender.from_email).await?;
    if campaign.kind == CampaignKind::Bulk
        && campaign.contact_role == ContactRole::Marketing
        && frozen.artist.postal_address.is_none()
    {
        return Err(ApiError::Unprocessable {
            code: "sender_profile_incomplete",
            message: "marketing mail must show the artist's postal address: complete the sender profile (PUT /api/artists/{artistId}/sender-profile with postal_address)".into(),
            details: json!({ "missing": ["postal_address"] }),
        });
    }
    let first;
    let sample = match sample {
        Some(sample) => sample,
        None => {
            first = first_recipient(app, campaign, policy(&frozen))
                    .await?
                    .ok_or_else(|| ApiError::Unprocessable {
                        code: "no_recipients",
                        message: format!(
                            "no active, reachable contact of the team matches the campaign's recipients{}",
                            match policy(&frozen) {
                                ConsentPolicy::NotRequired => String::new(),
                                other => format!(" ({})", other.explanation()),
                            }
                        ),
                        details: json!({ "consent_policy": policy(&frozen) }),
                    })?;
            Sample::Contact(&first)
        }
    };
    let versions: Vec<Option<VariantIndex>> = match &campaign.ab_test {
        Some(test) => test.indexes().map(Some).collect(),
        None => vec![None],
    };
    for version in versions {
        check_content(
            app,
            campaign,
            &frozen,
            version,
            &sample.vars(),
            sample.address(),
        )
        .map_err(|error| match version {
            Some(variant) => campaigns::in_variant(variant, error),
            None => error,
        })?;
    }
    if campaign.sent_at.is_none() {
        enough_for_the_test(app, campaign, policy(&frozen)).await?;
    }
    Ok(frozen)
}

/// The consent policy a frozen campaign applies (none for an individual email).
pub(super) fn policy(frozen: &FrozenContent) -> ConsentPolicy {
    frozen.consent_policy.unwrap_or(ConsentPolicy::NotRequired)
}

/// `contacts` split into those `policy` lets the campaign write to and those it leaves out.
pub(super) fn lawful(
    policy: ConsentPolicy,
    contacts: Vec<&Contact>,
) -> (Vec<&Contact>, Vec<&Contact>) {
    contacts
        .into_iter()
        .partition(|contact| policy.allows(contact.consent.as_ref()))
}

/// A test-then-winner test is run only on an audience of its documented minimum
/// (`ab::decide::minimum_audience`); below it, the campaign is refused with the suggestion to
/// split. Counting stops at the minimum, so a large list costs a page or two.
async fn enough_for_the_test(
    app: &App,
    campaign: &Campaign,
    policy: ConsentPolicy,
) -> Result<(), ApiError> {
    let Some(minimum) = campaign
        .ab_test
        .as_ref()
        .and_then(crate::ab::decide::minimum_audience)
    else {
        return Ok(());
    };
    let audience = reachable_up_to(app, campaign, policy, minimum as usize, 500, None)
        .await?
        .len() as u64;
    if audience >= minimum {
        return Ok(());
    }
    Err(ApiError::Unprocessable {
        code: "ab_test_audience_too_small",
        message: format!(
            "a test-then-winner test of these variants needs at least {minimum} recipients ({} per variant in the test) and this campaign has {audience}: send it as a split (ab_test.mode \"split\"), which reports the result without choosing a winner",
            crate::ab::decide::MIN_TEST_PER_VARIANT
        ),
        details: json!({ "minimum": minimum, "audience": audience, "suggestion": "split" }),
    })
}

/// The first active, unsuppressed contact the campaign would reach: the sample its content is
/// checked on.
pub(super) async fn first_recipient(
    app: &App,
    campaign: &Campaign,
    policy: ConsentPolicy,
) -> Result<Option<Contact>, ApiError> {
    Ok(
        reachable_up_to(app, campaign, policy, 1, 100, Some(SAMPLE_SEARCH_PAGES))
            .await?
            .into_iter()
            .next(),
    )
}

/// The first `want` contacts the campaign would reach, reading pages of `page_size` (at most
/// `max_pages` of them).
async fn reachable_up_to(
    app: &App,
    campaign: &Campaign,
    policy: ConsentPolicy,
    want: usize,
    page_size: usize,
    max_pages: Option<usize>,
) -> Result<Vec<Contact>, ApiError> {
    let mut found = Vec::new();
    let mut after = None;
    for _ in 0..max_pages.unwrap_or(usize::MAX) {
        let page = contact_store::active_of_team(
            app,
            campaign.artist_id,
            campaign.contact_role,
            page_size,
            after,
        )
        .await?;
        let (chosen, _) = lawful(policy, reachable(app, campaign, &page.items).await?);
        found.extend(chosen.into_iter().take(want - found.len()).cloned());
        match page.next {
            Some(next) if found.len() < want => after = Some(next),
            _ => break,
        }
    }
    Ok(found)
}

/// The contacts among `contacts` the campaign chooses and nobody has suppressed (for everyone,
/// for the artist, or for the campaign's team).
pub(super) async fn reachable<'a>(
    app: &App,
    campaign: &Campaign,
    contacts: &'a [Contact],
) -> Result<Vec<&'a Contact>, ApiError> {
    let matching: Vec<&Contact> = contacts
        .iter()
        .filter(|c| c.status == ContactStatus::Active && campaign.recipients.matches(c))
        .collect();
    let matching = match campaign.recipients.min_score {
        Some(min) => crate::tracking::engagement::scoring_at_least(app, matching, min).await?,
        None => matching,
    };
    let emails: Vec<_> = matching.iter().map(|c| &c.email).collect();
    let suppressed =
        suppression::suppressed(app, campaign.artist_id, campaign.contact_role, &emails).await?;
    Ok(matching
        .into_iter()
        .filter(|c| !suppressed.contains(c.email.normalized()))
        .collect())
}

/// The values a campaign's messages share, from what was frozen (`from_name`: the version's).
pub(super) fn shared(campaign: &Campaign, frozen: &FrozenContent, from_name: &str) -> Shared {
    Shared {
        artist: ArtistVars {
            name: Some(frozen.artist.name.clone()),
            postal_address: frozen.artist.postal_address.clone(),
        },
        campaign: CampaignVars {
            name: Some(campaign.name.clone()),
            subject: campaign.content.subject.clone(),
        },
        sender: SenderVars {
            name: Some(from_name.to_owned()),
            email: Some(frozen.sender.from_email.ascii().to_owned()),
        },
    }
}

/// The content checks of #4 for one recipient: errors stop the start, with every warning shown.
fn check_content(
    app: &App,
    campaign: &Campaign,
    frozen: &FrozenContent,
    version: Option<VariantIndex>,
    contact: &ContactVars,
    to: &str,
) -> Result<(), ApiError> {
    let (sources, from_name) = frozen.version(version);
    let shared = shared(campaign, frozen, from_name);
    let shown = preview(&PreviewInput {
        role: campaign.contact_role,
        source: sources.into(),
        signature: sources.signature.as_deref(),
        shared: &shared,
        contact,
        to: Mailbox {
            name: None,
            address: to,
        },
        from: Mailbox {
            name: Some(from_name),
            address: frozen.sender.from_email.ascii(),
        },
        reply_domain: &app.config.reply_domain,
        ids: MessageIds {
            artist: campaign.artist_id,
            role: campaign.contact_role,
            campaign: Some(campaign.id.as_uuid()),
            contact: None,
            send: uuid::Uuid::now_v7(),
        },
        base_url: &app.config.public_base_url,
        signer: app.signer()?,
    })
    .map_err(|error| match error {
        crate::render::PreviewError::Template(problems) => {
            crate::templates::invalid_template(problems)
        }
        crate::render::PreviewError::Render(error) => ApiError::Unprocessable {
            code: "template_render_failed",
            message: format!("the campaign does not render for its first recipient: {error}"),
            details: json!({}),
        },
    })?;
    if shown.warnings.iter().any(|w| w.severity == Severity::Error) {
        return Err(ApiError::Unprocessable {
            code: "content_check_failed",
            message: "the content fails a check that blocks sending; see details.warnings".into(),
            details: json!({ "warnings": shown.warnings }),
        });
    }
    Ok(())
}
