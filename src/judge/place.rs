//! Where an event happened, as people know it: its account, by the name they know it by
//! (`ACCOUNT_NAMES`, else AWS Organizations), and its region; and where that account's alerts go.
//! Applied to every plan in one place ([`super::finish`]), and to the missed-run alerts.

use super::measure::{tag, Submission};
use super::notice::Notice;
use super::outgoing::Options;
use super::post::Placement;
use super::tags::{AWS_ACCOUNT, AWS_ACCOUNT_NAME, REGION};

/// An event's account and region, and what its alerts say of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// The 12-digit account id (empty when the event names none).
    pub account: String,
    /// The name people know the account by, when one is known.
    pub name: Option<String>,
    pub region: String,
    /// Alerts name the account: it has a name, or the function serves several accounts.
    pub show_account: bool,
    /// Alerts name the region: it is not the function's own.
    pub show_region: bool,
    /// The route (`ACCOUNT_ROUTES`) and channel (`ACCOUNT_CHANNELS`) of the account's alerts.
    pub route: Option<String>,
    pub channel: Option<String>,
}

impl Place {
    /// The place of an event of `account` in `region`; `found` is the account's name in AWS
    /// Organizations, which `ACCOUNT_NAMES` overrides.
    pub fn new(account: &str, region: &str, found: Option<&str>, options: &Options) -> Place {
        let accounts = &options.accounts;
        let name = accounts
            .name(account)
            .or(found.filter(|n| !n.trim().is_empty()))
            .map(String::from);
        let own_region = options.region.as_deref().filter(|r| !r.is_empty());
        Place {
            show_account: !account.is_empty() && (name.is_some() || accounts.several),
            show_region: !region.is_empty() && own_region.is_some_and(|own| own != region),
            account: account.to_string(),
            name,
            region: region.to_string(),
            route: accounts.routes.get(account).cloned(),
            channel: accounts.channels.get(account).cloned(),
        }
    }

    /// `prod-payments (123456789012)`, or the id alone when no name is known.
    pub fn account_label(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} ({})", self.account),
            None => self.account.clone(),
        }
    }

    /// The tags of every metric and event: the account id, its name when known, the region.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = Vec::new();
        if !self.account.is_empty() {
            tags.push(tag(AWS_ACCOUNT, &self.account));
        }
        if let Some(name) = &self.name {
            tags.push(tag(AWS_ACCOUNT_NAME, name));
        }
        if !self.region.is_empty() {
            tags.push(tag(REGION, &self.region));
        }
        tags
    }

    /// What the place adds to an event's plan: the account and region first among the notice's
    /// fields (when worth naming), the tags on every metric and event (those not already
    /// there), and the account's route and channel where the resource's tags name none.
    pub fn apply(
        &self,
        notice: Option<&mut Notice>,
        datadog: &mut Submission,
        placement: &mut Placement,
    ) {
        for notice in notice.into_iter().chain(placement.thread_notice.as_mut()) {
            self.name_in(notice);
        }
        let tags = self.tags();
        let missing = |have: &[String]| -> Vec<String> {
            tags.iter()
                .filter(|t| !have.iter().any(|h| key(h) == key(t)))
                .cloned()
                .collect()
        };
        for d in &mut datadog.distributions {
            d.tags = d.tags.iter().cloned().chain(missing(&d.tags)).collect();
        }
        for s in &mut datadog.series {
            s.tags = s.tags.iter().cloned().chain(missing(&s.tags)).collect();
        }
        for e in &mut datadog.events {
            let add = missing(&e.tags);
            e.tags.extend(add);
        }
        if placement.route.is_none() {
            placement.route = self.route.clone();
        }
        if placement.channel.is_none() {
            placement.channel = self.channel.clone();
        }
    }

    /// The account and region as the notice's first fields, when worth naming.
    fn name_in(&self, notice: &mut Notice) {
        let mut fields = Vec::new();
        if self.show_account {
            fields.push(("Account".to_string(), self.account_label()));
        }
        if self.show_region {
            fields.push(("Region".to_string(), self.region.clone()));
        }
        notice.fields.splice(0..0, fields);
    }
}

/// A tag's key: `aws_account` of `aws_account:123456789012`.
fn key(tag: &str) -> &str {
    tag.split_once(':').map_or(tag, |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Accounts;
    use crate::judge::measure::{Distribution, Event};
    use crate::judge::notice::Severity;

    fn options(several: bool, region: Option<&str>) -> Options {
        let mut accounts = Accounts {
            several,
            ..Accounts::default()
        };
        accounts
            .names
            .insert("123456789012".into(), "Prod Payments".into());
        accounts
            .routes
            .insert("123456789012".into(), "payments".into());
        Options {
            accounts: Arc::new(accounts),
            region: region.map(String::from),
            ..Options::default()
        }
    }

    fn notice() -> Notice {
        Notice {
            severity: Severity::Failure,
            title: "t".into(),
            summary: "s".into(),
            fields: vec![("Cluster".into(), "prod".into())],
            sections: Vec::new(),
            links: Vec::new(),
            context: Vec::new(),
            mentions: Vec::new(),
        }
    }

    #[test]
    fn a_named_account_and_another_region_lead_the_fields() {
        let place = Place::new(
            "123456789012",
            "us-east-1",
            None,
            &options(false, Some("eu-west-1")),
        );
        let mut n = notice();
        let mut dd = Submission {
            distributions: vec![Distribution::count("m", 1, 1, vec!["region:x".to_string()])],
            events: vec![Event::of(&notice(), None, 1, Vec::new())],
            ..Submission::default()
        };
        let mut placement = Placement::default();
        place.apply(Some(&mut n), &mut dd, &mut placement);
        let labels: Vec<&str> = n.fields.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["Account", "Region", "Cluster"]);
        assert_eq!(n.fields[0].1, "Prod Payments (123456789012)");
        assert_eq!(
            dd.distributions[0].tags.to_vec(),
            [
                "region:x",
                "aws_account:123456789012",
                "aws_account_name:prod_payments"
            ]
        );
        assert!(dd.events[0].tags.contains(&"region:us-east-1".to_string()));
        assert_eq!(placement.route.as_deref(), Some("payments"));
    }

    #[test]
    fn only_what_is_worth_naming() {
        // One account, no name, the function's own region: nothing shown, tags still sent.
        let own = Place::new(
            "111122223333",
            "eu-west-1",
            None,
            &options(false, Some("eu-west-1")),
        );
        assert!(!own.show_account && !own.show_region);
        assert_eq!(own.tags(), ["aws_account:111122223333", "region:eu-west-1"]);
        // Several accounts: the id, for want of a name; Organizations' name, unless mapped.
        let other = Place::new("111122223333", "eu-west-1", None, &options(true, None));
        assert!(other.show_account && !other.show_region);
        assert_eq!(other.account_label(), "111122223333");
        let found = Place::new("111122223333", "", Some("data"), &options(false, None));
        assert_eq!(found.account_label(), "data (111122223333)");
        let mapped = Place::new("123456789012", "", Some("org-name"), &options(false, None));
        assert_eq!(mapped.name.as_deref(), Some("Prod Payments"));
        // The tags' route wins over the account's.
        let mut placement = Placement {
            route: Some("platform".into()),
            ..Placement::default()
        };
        mapped.apply(None, &mut Submission::default(), &mut placement);
        assert_eq!(placement.route.as_deref(), Some("platform"));
    }
}
