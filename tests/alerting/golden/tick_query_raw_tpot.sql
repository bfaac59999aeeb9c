SELECT
    provider, resolved_model, client_name,
    countIf(n_generation_speed >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS t_generation_speed_1,
    countIf((n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS b_generation_speed_1,
    countIf(n_generation_speed >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS t_generation_speed_3,
    countIf((n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS b_generation_speed_3,
    countIf(n_generation_speed >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS t_generation_speed_5,
    countIf((n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS b_generation_speed_5,
    countIf(n_generation_speed >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS t_generation_speed_30,
    countIf((n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS b_generation_speed_30,
    countIf(n_generation_speed >= 10 AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS t_generation_speed_360,
    countIf((n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS b_generation_speed_360,
    sumForEachIf(h_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS o_generation_speed_1,
    sumIf(n_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS r_generation_speed_1,
    sumForEachIf(h_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS o_generation_speed_3,
    sumIf(n_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS r_generation_speed_3,
    sumForEachIf(h_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS o_generation_speed_5,
    sumIf(n_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS r_generation_speed_5,
    sumForEachIf(h_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS o_generation_speed_30,
    sumIf(n_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS r_generation_speed_30,
    sumForEachIf(h_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS o_generation_speed_360,
    sumIf(n_generation_speed, minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS r_generation_speed_360,
    minIf(minute, (n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS f_generation_speed_5_1,
    minIf(minute, (n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS f_generation_speed_30_3,
    minIf(minute, (n_generation_speed >= 10 AND (n_generation_speed > 0 AND b_generation_speed * 2 > 1 * n_generation_speed)) AND minute >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS f_generation_speed_360_30
FROM (
    SELECT provider, resolved_model, client_name, toStartOfMinute(received_at) AS minute,
        countIf(status_code < 400 AND (is_streaming AND status_code < 400 AND complete_request_ms >= ttfb_ms AND ifNull(output_tokens, 0) >= greatest(20, 2))) AS n_generation_speed,
        sumForEachIf(arrayMap(b -> toUInt64((complete_request_ms - ttfb_ms > b * (toInt64(ifNull(output_tokens, 0)) - 1))), [1, 2, 4, 5, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150, 200, 400, 1000]), status_code < 400 AND (is_streaming AND status_code < 400 AND complete_request_ms >= ttfb_ms AND ifNull(output_tokens, 0) >= greatest(20, 2))) AS h_generation_speed,
        countIf(status_code < 400 AND (is_streaming AND status_code < 400 AND complete_request_ms >= ttfb_ms AND ifNull(output_tokens, 0) >= greatest(20, 2)) AND (complete_request_ms - ttfb_ms > 50 * (toInt64(ifNull(output_tokens, 0)) - 1))) AS b_generation_speed
    FROM o11y.api_metrics
    WHERE received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE AND received_at < toDateTime('2026-11-22 16:30:00', 'UTC')
    GROUP BY provider, resolved_model, client_name, minute
)
GROUP BY provider, resolved_model, client_name
