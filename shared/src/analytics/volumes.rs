//! What was counted over some scope (a campaign, a team's period, an hour), and the rates a
//! team acts on, each with its numerator and denominator stated.

use serde::Serialize;

use crate::domain::{Counter, Currency, Money};
use crate::store::stats::Counters;

/// Opens and clicks are the person's (machines' apart); `replied` counts messages answered by a
/// person, `replies` their replies, `auto_replies` out-of-office answers; conversions are the
/// CRM's, attributed to their email (`conversions`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Volumes {
    pub sent: u64,
    pub delivered: u64,
    pub bounces: u64,
    pub soft_bounces: u64,
    pub complaints: u64,
    pub rejects: u64,
    pub opens: u64,
    pub unique_opens: u64,
    pub machine_opens: u64,
    pub clicks: u64,
    pub unique_clicks: u64,
    pub machine_clicks: u64,
    pub replied: u64,
    pub replies: u64,
    pub auto_replies: u64,
    pub unsubscribes: u64,
    /// Conversions the CRM reported, every one; `converted`: messages that led to one.
    pub conversions: u64,
    pub converted: u64,
    /// Their value, per currency.
    pub revenue: Vec<Money>,
}

impl Volumes {
    pub fn of(counters: &Counters) -> Self {
        Self {
            sent: counters.get(Counter::Sent),
            delivered: counters.get(Counter::Delivered),
            bounces: counters.get(Counter::Bounces),
            soft_bounces: counters.get(Counter::SoftBounces),
            complaints: counters.get(Counter::Complaints),
            rejects: counters.get(Counter::Rejects),
            opens: counters.get(Counter::Opens),
            unique_opens: counters.get(Counter::UniqueOpens),
            machine_opens: counters.get(Counter::MachineOpens),
            clicks: counters.get(Counter::Clicks),
            unique_clicks: counters.get(Counter::UniqueClicks),
            machine_clicks: counters.get(Counter::MachineClicks),
            replied: counters.get(Counter::Replied),
            replies: counters.get(Counter::Replies),
            auto_replies: counters.get(Counter::AutoReplies),
            unsubscribes: counters.get(Counter::Unsubscribes),
            conversions: counters.get(Counter::Conversions),
            converted: counters.get(Counter::Converted),
            revenue: counters.revenue(),
        }
    }

    pub fn add(&mut self, other: &Self) {
        let pairs = [
            (&mut self.sent, other.sent),
            (&mut self.delivered, other.delivered),
            (&mut self.bounces, other.bounces),
            (&mut self.soft_bounces, other.soft_bounces),
            (&mut self.complaints, other.complaints),
            (&mut self.rejects, other.rejects),
            (&mut self.opens, other.opens),
            (&mut self.unique_opens, other.unique_opens),
            (&mut self.machine_opens, other.machine_opens),
            (&mut self.clicks, other.clicks),
            (&mut self.unique_clicks, other.unique_clicks),
            (&mut self.machine_clicks, other.machine_clicks),
            (&mut self.replied, other.replied),
            (&mut self.replies, other.replies),
            (&mut self.auto_replies, other.auto_replies),
            (&mut self.unsubscribes, other.unsubscribes),
            (&mut self.conversions, other.conversions),
            (&mut self.converted, other.converted),
        ];
        for (total, more) in pairs {
            *total += more;
        }
        for money in &other.revenue {
            match self
                .revenue
                .iter_mut()
                .find(|m| m.currency == money.currency)
            {
                Some(total) => total.minor += money.minor,
                None => self.revenue.push(*money),
            }
        }
        self.revenue.sort_by_key(|money| money.currency);
    }

    pub fn rates(&self) -> Rates {
        Rates {
            open_rate: Rate::of(self.unique_opens, self.delivered, "delivered"),
            click_rate: Rate::of(self.unique_clicks, self.delivered, "delivered"),
            reply_rate: Rate::of(self.replied, self.delivered, "delivered"),
            click_to_open_rate: Rate::of(self.unique_clicks, self.unique_opens, "unique_opens"),
            bounce_rate: Rate::of(self.bounces + self.soft_bounces, self.sent, "sent"),
            complaint_rate: Rate::of(self.complaints, self.delivered, "delivered"),
            unsubscribe_rate: Rate::of(self.unsubscribes, self.delivered, "delivered"),
            conversion_rate: Rate::of(self.converted, self.delivered, "delivered"),
            revenue_per_1000_delivered: self
                .revenue
                .iter()
                .map(|money| RevenueRate {
                    currency: money.currency,
                    amount: (self.delivered > 0).then(|| {
                        let per =
                            money.currency.amount(money.minor) * 1000.0 / self.delivered as f64;
                        (per * 100.0).round() / 100.0
                    }),
                })
                .collect(),
        }
    }
}

/// A share, with what it is a share of: `value` is `numerator / denominator` (absent when
/// nothing was there to divide by).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Rate {
    pub value: Option<f64>,
    pub numerator: u64,
    pub denominator: u64,
    /// The volume the denominator is.
    pub over: &'static str,
}

impl Rate {
    pub fn of(numerator: u64, denominator: u64, over: &'static str) -> Self {
        Self {
            value: (denominator > 0).then(|| {
                let value = numerator as f64 / denominator as f64;
                (value * 10_000.0).round() / 10_000.0
            }),
            numerator,
            denominator,
            over,
        }
    }
}

/// Unique human opens, clicks and replies over deliveries; clicks over opens (click-to-open);
/// hard and soft bounces over messages sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Rates {
    pub open_rate: Rate,
    pub click_rate: Rate,
    pub reply_rate: Rate,
    pub click_to_open_rate: Rate,
    pub bounce_rate: Rate,
    pub complaint_rate: Rate,
    pub unsubscribe_rate: Rate,
    /// Messages that led to a conversion, over delivered.
    pub conversion_rate: Rate,
    pub revenue_per_1000_delivered: Vec<RevenueRate>,
}

/// Revenue in one currency per 1,000 delivered messages (absent when none were delivered).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct RevenueRate {
    pub currency: Currency,
    pub amount: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_say_what_they_divide_by_and_nothing_is_divided_by_zero() {
        let volumes = Volumes {
            sent: 200,
            delivered: 190,
            bounces: 6,
            soft_bounces: 4,
            unique_opens: 95,
            unique_clicks: 19,
            replied: 3,
            ..Volumes::default()
        };
        let rates = volumes.rates();
        assert_eq!(rates.open_rate.value, Some(0.5));
        assert_eq!(rates.open_rate.over, "delivered");
        assert_eq!(rates.click_to_open_rate.value, Some(0.2));
        assert_eq!(rates.bounce_rate.value, Some(0.05));
        assert_eq!(rates.reply_rate.numerator, 3);
        assert_eq!(Volumes::default().rates().open_rate.value, None);
    }
}
