//! The artist's sender profile: `/api/artists/{artistId}/sender-profile`.

use lambda_http::Request;
use mailing::App;
use std::collections::BTreeMap;

use mailing::domain::{
    ArtistId, ConsentPolicy, ContactRole, DEFAULT_TIME_ZONE, DISPLAY_NAME_MAX, EmailAddress,
    Language, POSTAL_ADDRESS_MAX, ReplyHandling, profile_text, time_zone,
};
use mailing::sender_profiles::{self, ProfileInput};
use serde::Deserialize;

use crate::http::{self, Fields, HttpResult};

/// `GET /api/artists/{artistId}/sender-profile`.
pub async fn get(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    http::json(200, &sender_profiles::get(app, &caller, artist).await?)
}

/// `PUT /api/artists/{artistId}/sender-profile`: the whole profile, replaced.
pub async fn update(app: &App, request: Request) -> HttpResult {
    let caller = http::caller(&request)?;
    let artist: ArtistId = http::path_id(&request, "artistId", "artist")?;
    let body = http::json_body::<ProfileBody>(&request, http::JSON_LIMIT)?;
    let input = body.parse()?;
    http::json(
        200,
        &sender_profiles::put(app, &caller, artist, input).await?,
    )
}

#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "SenderProfileInput")
)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    display_name: String,
    #[serde(default)]
    postal_address: Option<String>,
    #[serde(default)]
    default_from_name: Option<String>,
    #[serde(default)]
    default_from_email: Option<String>,
    #[serde(default)]
    reply_handling: Option<String>,
    #[serde(default)]
    forward_replies_to: Option<String>,
    #[serde(default)]
    default_language: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    /// Team → `not_required`, `any_basis` or `consent`; a team not named keeps its default.
    #[serde(default)]
    consent_policies: BTreeMap<String, String>,
}

impl ProfileBody {
    fn parse(self) -> Result<ProfileInput, mailing::ApiError> {
        let mut f = Fields::default();
        let display_name = f.check(
            "display_name",
            profile_text(&self.display_name, DISPLAY_NAME_MAX),
        );
        let postal_address = self
            .postal_address
            .map(|text| f.check("postal_address", profile_text(&text, POSTAL_ADDRESS_MAX)));
        let default_from_name = f.text("default_from_name", self.default_from_name.as_deref(), 100);
        let email = |f: &mut Fields, field: &str, raw: Option<String>| {
            raw.map(|raw| f.check(field, EmailAddress::parse(&raw)))
        };
        let default_from_email = email(&mut f, "default_from_email", self.default_from_email);
        let forward_replies_to = email(&mut f, "forward_replies_to", self.forward_replies_to);
        let reply_handling = match self.reply_handling.as_deref() {
            None | Some("store") => Some(ReplyHandling::Store),
            Some("store_and_forward") => Some(ReplyHandling::StoreAndForward),
            Some(_) => {
                f.push("reply_handling", "expected store or store_and_forward");
                None
            }
        };
        let default_language = f.check(
            "default_language",
            self.default_language
                .as_deref()
                .unwrap_or("en")
                .parse::<Language>(),
        );
        let time_zone = f.check(
            "time_zone",
            time_zone(self.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE)),
        );
        let mut consent_policies = BTreeMap::new();
        for (team, policy) in self.consent_policies {
            let field = format!("consent_policies.{team}");
            let role = f.check(&field, team.parse::<ContactRole>());
            let policy = f.check(
                &field,
                serde_json::from_value::<ConsentPolicy>(serde_json::Value::String(policy))
                    .map_err(|_| "expected not_required, any_basis or consent"),
            );
            if let (Some(role), Some(policy)) = (role, policy) {
                consent_policies.insert(role, policy);
            }
        }
        f.finish(|| ProfileInput {
            display_name: display_name.expect("checked"),
            postal_address: postal_address.map(|a| a.expect("checked")),
            default_from_name,
            default_from_email: default_from_email.map(|e| e.expect("checked")),
            reply_handling: reply_handling.expect("checked"),
            forward_replies_to: forward_replies_to.map(|e| e.expect("checked")),
            default_language: default_language.expect("checked"),
            time_zone: time_zone.expect("checked"),
            consent_policies,
        })
    }
}

#[cfg(feature = "openapi")]
pub(crate) fn describe(api: &mut crate::contract::Api) {
    let path = "/api/artists/{artistId}/sender-profile";
    api.operation("GET", path)
        .summary("The artist's sender profile")
        .answers::<mailing::domain::SenderProfile>(
            200,
            "The profile (defaults until one is saved).",
        );
    api.operation("PUT", path)
        .summary("Replace the artist's sender profile")
        .description("The name and postal address every message carries, default sender, reply handling, language, time zone, and each team's consent policy.")
        .body::<ProfileBody>()
        .answers::<mailing::domain::SenderProfile>(200, "The profile as saved.");
}
