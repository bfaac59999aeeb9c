SELECT
    provider,
    resolved_model,
    client_name,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE) AS t_ttfb_1,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 1 MINUTE AND ttfb_ms > 1234) AS b_ttfb_1,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE) AS t_ttfb_3,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 3 MINUTE AND ttfb_ms > 1234) AS b_ttfb_3,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS t_ttfb_5,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE AND ttfb_ms > 1234) AS b_ttfb_5,
    quantilesIf(0.5, 0.9, 0.99)(ttfb_ms, received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 5 MINUTE) AS q_ttfb_5,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS t_ttfb_30,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE AND ttfb_ms > 1234) AS b_ttfb_30,
    quantilesIf(0.5, 0.9, 0.99)(ttfb_ms, received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 30 MINUTE) AS q_ttfb_30,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS t_ttfb_360,
    countIf(received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE AND ttfb_ms > 1234) AS b_ttfb_360,
    quantilesIf(0.5, 0.9, 0.99)(ttfb_ms, received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE) AS q_ttfb_360
FROM o11y.api_metrics
WHERE received_at >= toDateTime('2026-11-22 16:30:00', 'UTC') - INTERVAL 360 MINUTE AND received_at < toDateTime('2026-11-22 16:30:00', 'UTC')
GROUP BY provider, resolved_model, client_name
