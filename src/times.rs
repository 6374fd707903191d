//! Times as this tool writes and reads them, in one place: RFC 3339 UTC to
//! the second (`2026-11-22T01:21:07Z`) for people and JSON, SigV4's
//! `20261122T012107Z` in tokens, and the `Expiration` the AWS CLI's cache
//! files hold.

use std::time::SystemTime;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `time` as RFC 3339 UTC to the second, e.g. `2026-11-22T01:21:07Z`.
///
/// # Example
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let at = UNIX_EPOCH + Duration::from_secs(1_795_310_467);
/// assert_eq!(rds_auth_token::times::rfc3339(at), "2026-11-22T01:21:07Z");
/// ```
pub fn rfc3339(time: SystemTime) -> String {
    utc(time)
        .and_then(format_utc)
        .unwrap_or_else(|| "an unrepresentable time".to_owned())
}

/// `time` in UTC, or `None` past the years `time` holds (-9999 to 9999),
/// where `OffsetDateTime::from` panics.
fn utc(time: SystemTime) -> Option<OffsetDateTime> {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => OffsetDateTime::UNIX_EPOCH.checked_add(after.try_into().ok()?),
        Err(before) => OffsetDateTime::UNIX_EPOCH.checked_sub(before.duration().try_into().ok()?),
    }
}

/// Seconds since 1970 as [`rfc3339`] writes them, or `a time after 9999`.
pub fn rfc3339_secs(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(format_utc)
        .unwrap_or_else(|| "a time after 9999".to_owned())
}

fn format_utc(at: OffsetDateTime) -> Option<String> {
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .ok()
}

/// A signing time as SigV4 writes it, `YYYYMMDDTHHMMSSZ`, for times from
/// 1970 to 9999.
pub fn amz_date(time: SystemTime) -> Option<[u8; 16]> {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    let at = OffsetDateTime::from_unix_timestamp(i64::try_from(secs).ok()?).ok()?;
    if at.year() > 9999 {
        return None;
    }
    let text = at
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .ok()?;
    text.as_bytes().try_into().ok()
}

/// `YYYYMMDDTHHMMSSZ` as seconds since 1970, or `None` when it is not one.
pub fn parse_amz_date(text: &str) -> Option<i64> {
    if text.len() != 16 || !text.is_ascii() {
        return None;
    }
    PrimitiveDateTime::parse(
        text,
        format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .ok()
    .map(|at| at.assume_utc().unix_timestamp())
}

/// RFC 3339 (`2026-11-22T01:30:00Z`, `2026-11-22T02:30:00+01:00`) or
/// SigV4's `20261122T013000Z`.
pub fn parse_rfc3339_or_amz(value: &str) -> Option<SystemTime> {
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .map(SystemTime::from)
        .or_else(|| parse_amz_date(value).map(system_time))
}

/// An `Expiration` as botocore writes it in the AWS CLI's cache:
/// `2026-11-23T01:00:00UTC` (a `datetime` through `strftime`),
/// `2026-11-23T01:00:00Z`, or with an offset and fractional seconds
/// (`isoformat()`).
pub fn parse_botocore_expiration(value: &str) -> Option<SystemTime> {
    let value = value.trim();
    let normalized = match value.strip_suffix("UTC") {
        Some(rest) => format!("{rest}Z"),
        None => value.to_owned(),
    };
    // A time whose offset takes it past 9999 in UTC could not be written
    // back: it is not an expiration.
    OffsetDateTime::parse(&normalized, &Rfc3339)
        .ok()
        .and_then(|at| at.checked_to_offset(UtcOffset::UTC))
        .filter(|at| (0..=9999).contains(&at.year()))
        .map(SystemTime::from)
}

/// Seconds since 1970 (before it when negative) as a `SystemTime`.
pub fn system_time(secs: i64) -> SystemTime {
    let span = std::time::Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + span
    } else {
        SystemTime::UNIX_EPOCH - span
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_rfc3339_and_sigv4_times_alike() {
        let at = system_time(1_795_310_467);
        assert_eq!(rfc3339(at), "2026-11-22T01:21:07Z");
        assert_eq!(rfc3339_secs(1_795_310_467), "2026-11-22T01:21:07Z");
        assert_eq!(rfc3339_secs(i64::MAX), "a time after 9999");
        assert_eq!(
            amz_date(at).as_ref().map(|b| &b[..]),
            Some(&b"20261122T012107Z"[..])
        );
        assert_eq!(parse_amz_date("20261122T012107Z"), Some(1_795_310_467));
        for bad in [
            "20261322T012107Z",
            "20261122 012107Z",
            "2026112T012107Z",
            "２0261122T012107Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        assert_eq!(parse_rfc3339_or_amz("2026-11-22T02:21:07+01:00"), Some(at));
        assert_eq!(parse_rfc3339_or_amz("20261122T012107Z"), Some(at));
        assert_eq!(parse_rfc3339_or_amz("tomorrow"), None);
        assert_eq!(amz_date(system_time(253_402_300_800)), None, "year 10000");
        assert_eq!(amz_date(system_time(-1)), None);
    }

    #[test]
    fn reads_the_expirations_botocore_writes() {
        let at = system_time(1_795_395_600);
        for text in [
            "2026-11-23T01:00:00UTC",
            "2026-11-23T01:00:00Z",
            "2026-11-23T02:00:00+01:00",
            " 2026-11-23T01:00:00.000000+00:00 ",
        ] {
            let parsed = parse_botocore_expiration(text).unwrap();
            assert_eq!(parsed.duration_since(at).unwrap().as_secs(), 0, "{text}");
        }
        assert_eq!(parse_botocore_expiration("soon"), None);
    }

    #[test]
    fn writes_a_time_past_9999_without_panicking_and_reads_none() {
        let past = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(253_402_300_800);
        assert_eq!(rfc3339(past), "an unrepresentable time");
        assert_eq!(
            rfc3339(SystemTime::UNIX_EPOCH - std::time::Duration::from_secs(1)),
            "1969-12-31T23:59:59Z"
        );
        assert_eq!(parse_botocore_expiration("9999-12-31T23:59:59-23:59"), None);
        assert_eq!(parse_botocore_expiration("0000-01-01T00:00:00+00:01"), None);
        assert_eq!(
            parse_botocore_expiration("9999-12-31T23:59:59+01:00")
                .map(rfc3339)
                .as_deref(),
            Some("9999-12-31T22:59:59Z")
        );
    }
}
