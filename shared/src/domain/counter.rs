//! The engagement counters, by name: the one list the counting rules (`tracking::record`) write
//! and every reader (`tracking::engagement`, `analytics`, guardrails) reads, so a typo on either
//! side is a compile error rather than a number that silently stays zero.

/// One counter of a stats item. Which items carry which counters is `tracking::record`'s to say;
/// a test there holds that every counter written is read and every counter read is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    /// Messages SES accepted for the contact.
    Sent,
    Delivered,
    /// The person's opens, every one (machines' are `MachineOpens`).
    Opens,
    /// Messages the person opened, once each (campaign, team day).
    UniqueOpens,
    /// Messages the contact opened, once each (the contact's item).
    Opened,
    MachineOpens,
    Clicks,
    UniqueClicks,
    Clicked,
    MachineClicks,
    /// Hard bounces.
    Bounces,
    SoftBounces,
    /// The contact's soft bounces since its last delivery.
    SoftBounceStreak,
    Complaints,
    Rejects,
    DeliveryDelays,
    RenderingFailures,
    Unsubscribes,
    /// A person's replies, every one.
    Replies,
    /// Messages a person answered, once each.
    Replied,
    /// Out-of-office and other automatic answers: counted apart, never as replies.
    AutoReplies,
    /// Messages sent to the contact since its last open, click or reply (the unengaged rule).
    SendsSinceEngagement,
    /// Contacts a team gained (created or imported), per day: its list's growth.
    ContactsCreated,
    /// Conversions the CRM reported, every one (their value: `revenue_{currency}`).
    Conversions,
    /// Messages that led to a conversion, once each.
    Converted,
}

impl Counter {
    pub const ALL: [Counter; 25] = [
        Self::Sent,
        Self::Delivered,
        Self::Opens,
        Self::UniqueOpens,
        Self::Opened,
        Self::MachineOpens,
        Self::Clicks,
        Self::UniqueClicks,
        Self::Clicked,
        Self::MachineClicks,
        Self::Bounces,
        Self::SoftBounces,
        Self::SoftBounceStreak,
        Self::Complaints,
        Self::Rejects,
        Self::DeliveryDelays,
        Self::RenderingFailures,
        Self::Unsubscribes,
        Self::Replies,
        Self::Replied,
        Self::AutoReplies,
        Self::SendsSinceEngagement,
        Self::ContactsCreated,
        Self::Conversions,
        Self::Converted,
    ];

    /// The attribute name on the stats item.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Opens => "opens",
            Self::UniqueOpens => "unique_opens",
            Self::Opened => "opened",
            Self::MachineOpens => "machine_opens",
            Self::Clicks => "clicks",
            Self::UniqueClicks => "unique_clicks",
            Self::Clicked => "clicked",
            Self::MachineClicks => "machine_clicks",
            Self::Bounces => "bounces",
            Self::SoftBounces => "soft_bounces",
            Self::SoftBounceStreak => "soft_bounce_streak",
            Self::Complaints => "complaints",
            Self::Rejects => "rejects",
            Self::DeliveryDelays => "delivery_delays",
            Self::RenderingFailures => "rendering_failures",
            Self::Unsubscribes => "unsubscribes",
            Self::Replies => "replies",
            Self::Replied => "replied",
            Self::AutoReplies => "auto_replies",
            Self::SendsSinceEngagement => "sends_since_engagement",
            Self::ContactsCreated => "contacts_created",
            Self::Conversions => "conversions",
            Self::Converted => "converted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_has_its_own_name() {
        let names: std::collections::BTreeSet<&str> =
            Counter::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), Counter::ALL.len());
    }
}
