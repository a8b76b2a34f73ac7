//! The event path SES takes on AWS: SNS topics, their SQS subscriptions, and configuration-set
//! event destinations pointing at the topics. With them, every message the local SES accepts
//! reaches the events queue as SES's own `Send` and `Delivery` events (`infra/ses_local.py`).

use anyhow::{Context, anyhow};
use aws_sdk_sesv2::types::{EventDestinationDefinition, EventType, SnsDestination};
use mailing::aws::Clients;
use serde_yaml::Value;

use crate::provision::Provisioned;
use crate::template::{Template, get_att, ref_target};

pub async fn provision(
    template: &Template,
    prefix: &str,
    clients: &Clients,
    sns: &aws_sdk_sns::Client,
    provisioned: &mut Provisioned,
) -> anyhow::Result<()> {
    for topic in template.resources_of(&["AWS::SNS::Topic"]) {
        let arn = sns
            .create_topic()
            .name(format!("{prefix}-{}", topic.logical_id))
            .send()
            .await
            .with_context(|| format!("creating topic {}", topic.logical_id))?
            .topic_arn
            .ok_or_else(|| anyhow!("topic {} has no ARN", topic.logical_id))?;
        // A topic's `!Ref` is its ARN.
        provisioned
            .refs
            .insert(topic.logical_id.clone(), arn.clone());
        provisioned.arns.insert(topic.logical_id, arn);
    }
    for subscription in template.resources_of(&["AWS::SNS::Subscription"]) {
        let properties = &subscription.properties;
        let topic = resolve(&properties["TopicArn"], provisioned)?;
        let endpoint = resolve(&properties["Endpoint"], provisioned)?;
        let mut request = sns
            .subscribe()
            .topic_arn(topic)
            .protocol(properties["Protocol"].as_str().unwrap_or("sqs"))
            .endpoint(endpoint);
        if properties["RawMessageDelivery"].as_bool() == Some(true) {
            request = request.attributes("RawMessageDelivery", "true");
        }
        request
            .send()
            .await
            .with_context(|| format!("creating subscription {}", subscription.logical_id))?;
    }
    for destination in template.resources_of(&["AWS::SES::ConfigurationSetEventDestination"]) {
        let properties = &destination.properties;
        let set = resolve(&properties["ConfigurationSetName"], provisioned)?;
        let definition = &properties["EventDestination"];
        let types = definition["MatchingEventTypes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|name| EventType::from(upper_snake(name).as_str()))
            .collect::<Vec<_>>();
        let mut built = EventDestinationDefinition::builder()
            .enabled(definition["Enabled"].as_bool().unwrap_or(false))
            .set_matching_event_types(Some(types));
        if !definition["SnsDestination"].is_null() {
            let topic = resolve(&definition["SnsDestination"]["TopicARN"], provisioned)?;
            built = built.sns_destination(SnsDestination::builder().topic_arn(topic).build()?);
        }
        clients
            .sesv2
            .create_configuration_set_event_destination()
            .configuration_set_name(set)
            .event_destination_name(
                definition["Name"]
                    .as_str()
                    .unwrap_or(&destination.logical_id),
            )
            .event_destination(built.build())
            .send()
            .await
            .with_context(|| format!("creating event destination {}", destination.logical_id))?;
    }
    Ok(())
}

/// A `!Ref` or `!GetAtt X.Arn` to a provisioned resource, or a literal.
fn resolve(value: &Value, provisioned: &Provisioned) -> anyhow::Result<String> {
    if let Some(target) = ref_target(value) {
        return provisioned
            .refs
            .get(&target)
            .cloned()
            .ok_or_else(|| anyhow!("no local value for !Ref {target}"));
    }
    if let Some((target, _)) = get_att(value) {
        return provisioned
            .arns
            .get(&target)
            .cloned()
            .ok_or_else(|| anyhow!("no local ARN for !GetAtt {target}"));
    }
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("neither a reference nor a literal: {value:?}"))
}

/// CloudFormation's `renderingFailure` → the API's `RENDERING_FAILURE`.
fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudformation_event_type_names_become_the_api_names() {
        for (cloudformation, api) in [
            ("send", "SEND"),
            ("renderingFailure", "RENDERING_FAILURE"),
            ("deliveryDelay", "DELIVERY_DELAY"),
        ] {
            assert_eq!(upper_snake(cloudformation), api);
            assert!(EventType::values().contains(&api), "{api}");
        }
    }
}
