//! When jobs fire, in pure functions: a job's [`Schedule`] (a 5-field Unix
//! cron expression, parsed once when the spec is validated), next fire times in a job's time zone
//! (DST handled by croner as Vixie cron does), the logical date of a fire,
//! which missed fire times a restart catches up, and what to do with a due
//! fire given the job's concurrency policy. No clock, no IO.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::spec::{Catchup, Concurrency, SchedulePolicy};

/// A parsed cron schedule: 5-field Unix cron with Vixie semantics
/// (day-of-month OR day-of-week; 0 or 7 = Sunday; names; `@daily` and friends).
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: croner::Cron,
}

impl Schedule {
    /// Parse `expr`; the message says what is wrong with it.
    pub fn parse(expr: &str) -> Result<Schedule, String> {
        let fields = expr.split_whitespace().count();
        if !expr.trim_start().starts_with('@') && fields != 5 {
            return Err(format!(
                "cron expression {expr:?} has {fields} fields; expected 5 (minute hour day-of-month month day-of-week)"
            ));
        }
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .year(croner::parser::Year::Disallowed)
            .build()
            .parse(expr)
            .map_err(|e| format!("invalid cron expression {expr:?}: {e}"))?;
        Ok(Schedule {
            expr: expr.to_string(),
            cron,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.expr
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(&self.expr)
    }
}

/// The first fire time strictly after `after`.
pub fn next_fire(schedule: &Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule
        .cron
        .find_next_occurrence(&after.with_timezone(&tz), false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The next fire time after `after`, the expression read in UTC.
pub fn next_fire_utc(schedule: &Schedule, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    next_fire(schedule, Tz::UTC, after)
}

/// The logical date of a fire: its calendar date in the job's time zone.
pub fn logical_date(fire: DateTime<Utc>, tz: Tz) -> NaiveDate {
    fire.with_timezone(&tz).date_naive()
}

/// Fire times in `(since, now]`, oldest first, at most `cap`.
fn fires_between(
    cron: &Schedule,
    tz: Tz,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    cap: usize,
) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let mut t = since;
    while let Some(next) = next_fire(cron, tz, t) {
        if next > now || out.len() >= cap {
            break;
        }
        out.push(next);
        t = next;
    }
    out
}

/// The fire times a scheduler starting at `now` runs for missed ones: those in
/// `(last_scheduled, now]` (a job never scheduled before has none), no older
/// than the starting deadline, picked by the catchup policy.
pub fn catchup_fires(
    cron: &Schedule,
    tz: Tz,
    policy: &SchedulePolicy,
    last_scheduled: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    if policy.catchup == Catchup::None || policy.suspend {
        return Vec::new();
    }
    let floor = policy.starting_deadline.map(|d| now - d);
    let since = match (last_scheduled, floor) {
        (Some(l), Some(f)) => l.max(f),
        (Some(l), None) => l,
        (None, Some(f)) => f,
        (None, None) => return Vec::new(),
    };
    // A bounded look-back: at most 10,000 fire times (a week of every-minute jobs).
    let mut fires = fires_between(cron, tz, since, now, 10_000);
    if policy.catchup == Catchup::Latest {
        fires = fires.pop().into_iter().collect();
    }
    fires
}

/// What to do with a fire time that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Start,
    /// Stop the job's running runs, then start.
    Replace,
    /// Not now: the global limit is reached; try again when a run ends.
    Wait,
    Skip(String),
}

/// Decide for a due `fire` of a job with `running` runs in this process,
/// `elsewhere` when another process holds the job's lease, with `slots` free
/// under the global limit.
pub fn decide(
    policy: &SchedulePolicy,
    fire: DateTime<Utc>,
    now: DateTime<Utc>,
    running: usize,
    elsewhere: bool,
    slots: usize,
) -> Decision {
    if policy.suspend {
        return Decision::Skip("the job is suspended".into());
    }
    if let Some(deadline) = policy.starting_deadline
        && now - fire > deadline
    {
        return Decision::Skip(format!(
            "missed its starting deadline ({} s)",
            deadline.num_seconds()
        ));
    }
    let busy = running > 0 || elsewhere;
    match policy.concurrency {
        Concurrency::Forbid if busy => Decision::Skip(if elsewhere {
            "another process is running the job (concurrency = forbid)".into()
        } else {
            "the previous run is still running (concurrency = forbid)".into()
        }),
        Concurrency::Replace if running > 0 => Decision::Replace,
        Concurrency::Replace if elsewhere => Decision::Skip(
            "another process is running the job; replace stops runs of this process only".into(),
        ),
        _ if slots == 0 => Decision::Wait,
        _ => Decision::Start,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn policy(catchup: Catchup, deadline: Option<i64>) -> SchedulePolicy {
        SchedulePolicy {
            catchup,
            starting_deadline: deadline.map(chrono::Duration::seconds),
            ..SchedulePolicy::default()
        }
    }

    #[test]
    fn cron_takes_unix_five_fields() {
        assert!(Schedule::parse("0 2 * * *").is_ok());
        assert!(Schedule::parse("*/15 9-17 * * MON-FRI").is_ok());
        assert!(Schedule::parse("@daily").is_ok());
        assert!(Schedule::parse("0 0 2 * * *").is_err());
        assert!(Schedule::parse("61 * * * *").is_err());
    }

    #[test]
    fn fires_follow_the_time_zone_across_dst() {
        let cron = Schedule::parse("30 2 * * *").unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 2024-03-31: 02:00 -> 03:00 in Paris; a fixed-time job runs right after the gap.
        let next = next_fire(&cron, paris, t("2024-03-30T12:00:00Z")).unwrap();
        assert_eq!(next, t("2024-03-31T01:00:00Z"));
        let after = next_fire(&cron, paris, next).unwrap();
        assert_eq!(after, t("2024-04-01T00:30:00Z"), "02:30 CEST");
        // Fall back (2024-10-27: 03:00 -> 02:00): it runs once.
        let a = next_fire(&cron, paris, t("2024-10-26T12:00:00Z")).unwrap();
        let b = next_fire(&cron, paris, a).unwrap();
        assert_eq!(
            logical_date(a, paris),
            "2024-10-27".parse::<NaiveDate>().unwrap()
        );
        assert_eq!(
            logical_date(b, paris),
            "2024-10-28".parse::<NaiveDate>().unwrap()
        );
    }

    #[test]
    fn vixie_day_of_month_or_day_of_week() {
        // The 13th, or any Friday.
        let cron = Schedule::parse("0 0 13 * 5").unwrap();
        let utc = chrono_tz::UTC;
        let a = next_fire(&cron, utc, t("2024-09-01T00:00:00Z")).unwrap();
        let b = next_fire(&cron, utc, a).unwrap();
        assert_eq!(a, t("2024-09-06T00:00:00Z"), "Friday the 6th");
        assert_eq!(b, t("2024-09-13T00:00:00Z"), "the 13th (also a Friday)");
        let c = next_fire(&cron, utc, b).unwrap();
        assert_eq!(c, t("2024-09-20T00:00:00Z"));
        let daily = Schedule::parse("@daily").unwrap();
        assert_eq!(
            next_fire(&daily, utc, t("2024-09-01T10:00:00Z")).unwrap(),
            t("2024-09-02T00:00:00Z")
        );
        let sunday = Schedule::parse("0 0 * * 7").unwrap();
        assert_eq!(
            next_fire(&sunday, utc, t("2024-09-02T00:00:00Z")).unwrap(),
            t("2024-09-08T00:00:00Z"),
            "7 is Sunday"
        );
    }

    #[test]
    fn catchup_policies_pick_missed_fires_within_the_deadline() {
        let cron = Schedule::parse("0 * * * *").unwrap();
        let utc = chrono_tz::UTC;
        let last = Some(t("2024-01-01T00:00:00Z"));
        let now = t("2024-01-01T03:30:00Z");
        let all = catchup_fires(&cron, utc, &policy(Catchup::All, None), last, now);
        assert_eq!(
            all,
            vec![
                t("2024-01-01T01:00:00Z"),
                t("2024-01-01T02:00:00Z"),
                t("2024-01-01T03:00:00Z")
            ]
        );
        let latest = catchup_fires(&cron, utc, &policy(Catchup::Latest, None), last, now);
        assert_eq!(latest, vec![t("2024-01-01T03:00:00Z")]);
        assert!(catchup_fires(&cron, utc, &policy(Catchup::None, None), last, now).is_empty());
        // Within 2 hours only.
        let bounded = catchup_fires(&cron, utc, &policy(Catchup::All, Some(7200)), last, now);
        assert_eq!(
            bounded,
            vec![t("2024-01-01T02:00:00Z"), t("2024-01-01T03:00:00Z")]
        );
        // Never scheduled before: only the deadline bounds the look-back.
        assert!(catchup_fires(&cron, utc, &policy(Catchup::All, None), None, now).is_empty());
        let first = catchup_fires(&cron, utc, &policy(Catchup::Latest, Some(3600)), None, now);
        assert_eq!(first, vec![t("2024-01-01T03:00:00Z")]);
    }

    #[test]
    fn concurrency_policies_decide_due_fires() {
        let fire = t("2024-01-01T01:00:00Z");
        let now = t("2024-01-01T01:00:05Z");
        let with = |c| SchedulePolicy {
            concurrency: c,
            ..SchedulePolicy::default()
        };
        let forbid = with(Concurrency::Forbid);
        assert_eq!(decide(&forbid, fire, now, 0, false, 1), Decision::Start);
        assert!(matches!(
            decide(&forbid, fire, now, 1, false, 1),
            Decision::Skip(_)
        ));
        assert!(matches!(
            decide(&forbid, fire, now, 0, true, 1),
            Decision::Skip(_)
        ));
        assert_eq!(
            decide(&with(Concurrency::Allow), fire, now, 3, false, 1),
            Decision::Start
        );
        assert_eq!(
            decide(&with(Concurrency::Replace), fire, now, 1, false, 0),
            Decision::Replace
        );
        assert_eq!(decide(&forbid, fire, now, 0, false, 0), Decision::Wait);
        let suspended = SchedulePolicy {
            suspend: true,
            ..SchedulePolicy::default()
        };
        assert!(matches!(
            decide(&suspended, fire, now, 0, false, 1),
            Decision::Skip(_)
        ));
        let late = policy(Catchup::None, Some(60));
        assert!(matches!(
            decide(&late, fire, t("2024-01-01T01:05:00Z"), 0, false, 1),
            Decision::Skip(why) if why.contains("deadline")
        ));
    }
}
