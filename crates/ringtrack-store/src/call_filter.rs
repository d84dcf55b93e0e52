//! The filters of the call log as SQL: shared by the list, the roll-ups' counts and the
//! analytics, which all read `calls`.

use ringtrack_domain::calls::CallFilter;

use crate::sql::Sql;

/// Until its final status arrives, a call is `in_progress`; written out in statements that
/// need a partial index to apply.
pub(crate) const IN_PROGRESS: &str = "in_progress";

/// [`ringtrack_domain::calls::attributed_source`] in SQL.
pub(crate) const SOURCE: &str = "COALESCE(source, utm_source, 'direct')";

/// Appends the filter's conditions to a `… WHERE` clause over `calls`.
pub(crate) fn push_filter(sql: &mut Sql, filter: &CallFilter) {
    sql.push_period(&filter.range);
    if let Some(status) = filter.status {
        // Written into the text (one of four words of ours), not bound: SQLite compares a
        // bound status with the condition of the partial index on calls in progress, and a
        // statement whose plan read a bound value is prepared again at every execution.
        sql.push(&format!(" AND status = '{}'", status.as_str()));
    }
    if let Some(number) = filter.number_id {
        sql.push(" AND number_id = ").push_bind(number);
    }
    if let Some(flow) = filter.call_flow_id {
        sql.push(" AND call_flow_id = ").push_bind(flow);
    }
    if let Some(qualified) = filter.qualified {
        sql.push(" AND qualified = ").push_bind(qualified);
    }
    if let Some(since) = filter.updated_since {
        sql.push(" AND updated_at >= ").push_bind(since);
    }
    if let Some(min) = filter.min_duration {
        sql.push(" AND duration_seconds >= ").push_bind(min);
    }
    if let Some(max) = filter.max_duration {
        sql.push(" AND duration_seconds <= ").push_bind(max);
    }
    if let Some(source) = &filter.utm_source {
        sql.push(" AND utm_source = ").push_bind(source.as_str());
    }
    if let Some(campaign) = &filter.utm_campaign {
        sql.push(" AND utm_campaign = ").push_bind(campaign.as_str());
    }
    if let Some(source) = &filter.source {
        sql.push(&format!(" AND {SOURCE} = ")).push_bind(source.as_str());
    }
    if let Some(medium) = &filter.utm_medium {
        sql.push(" AND utm_medium = ").push_bind(medium.as_str());
    }
    if let Some(first_time) = filter.first_time {
        sql.push(" AND first_time_caller = ").push_bind(first_time);
    }
    if let Some(page) = &filter.landing_page {
        sql.push(" AND landing_page_address = ").push_bind(page.as_str());
    }
    if let Some(digits) = &filter.caller_digits {
        sql.push(" AND caller_number LIKE ").push_bind(format!("%{digits}%"));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn in_progress_is_the_status_text() {
        assert_eq!(super::IN_PROGRESS, ringtrack_domain::calls::CallStatus::InProgress.as_str());
    }
}
