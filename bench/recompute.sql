-- pgbench: recomputing a Van Westendorp poll's curve inputs from its ballots (what the API's
-- aggregates save it from doing).
SELECT 'TOO_CHEAP', too_cheap, COUNT(*) FROM pricing_ballot WHERE poll_id = :poll GROUP BY too_cheap
UNION ALL SELECT 'CHEAP', cheap, COUNT(*) FROM pricing_ballot WHERE poll_id = :poll GROUP BY cheap
UNION ALL SELECT 'EXPENSIVE', expensive, COUNT(*) FROM pricing_ballot WHERE poll_id = :poll GROUP BY expensive
UNION ALL SELECT 'TOO_EXPENSIVE', too_expensive, COUNT(*) FROM pricing_ballot WHERE poll_id = :poll GROUP BY too_expensive;
