SELECT
    provider, resolved_model, client_name,
    countIf(n_ttfb >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS t_ttfb_1,
    countIf((n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS b_ttfb_1,
    countIf(n_ttfb >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS t_ttfb_3,
    countIf((n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS b_ttfb_3,
    countIf(n_ttfb >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS t_ttfb_5,
    countIf((n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS b_ttfb_5,
    countIf(n_ttfb >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS t_ttfb_30,
    countIf((n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS b_ttfb_30,
    countIf(n_ttfb >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS t_ttfb_360,
    countIf((n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS b_ttfb_360,
    sumForEachIf(h_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS o_ttfb_1,
    sumIf(n_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS r_ttfb_1,
    sumForEachIf(h_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS o_ttfb_3,
    sumIf(n_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS r_ttfb_3,
    sumForEachIf(h_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS o_ttfb_5,
    sumIf(n_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS r_ttfb_5,
    sumForEachIf(h_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS o_ttfb_30,
    sumIf(n_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS r_ttfb_30,
    sumForEachIf(h_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS o_ttfb_360,
    sumIf(n_ttfb, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS r_ttfb_360,
    minIf(minute, (n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS f_ttfb_5_1,
    minIf(minute, (n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS f_ttfb_30_3,
    minIf(minute, (n_ttfb >= 10 AND (n_ttfb > 0 AND b_ttfb * 10 > 1 * n_ttfb)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS f_ttfb_360_30
FROM (
    SELECT provider, resolved_model, client_name, toStartOfMinute(received_at) AS minute,
        countIf(status_code < 400) AS n_ttfb,
        sumForEachIf(arrayMap(b -> toUInt64(ttfb_ms > b), [100, 250, 500, 1000, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 45000, 60000, 90000, 120000, 180000, 300000]), status_code < 400) AS h_ttfb,
        countIf(status_code < 400 AND ttfb_ms > 1234) AS b_ttfb
    FROM o11y.api_metrics
    WHERE received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE AND received_at < toDateTime('2026-11-22 16:30:00', 'UTC')
    GROUP BY provider, resolved_model, client_name, minute
)
GROUP BY provider, resolved_model, client_name
