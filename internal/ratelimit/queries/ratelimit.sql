-- name: BucketTake :one
-- Refills the bucket key for the time since it was last written (at per_second, up to burst)
-- and takes n tokens if it then holds min(n, burst); all in one statement, so the row lock
-- makes concurrent takers in any number of processes queue up instead of overdrawing. A missing
-- bucket is created full, so the first take always succeeds.
--
-- The stored pair (tokens, updated_at) means "this many tokens at that instant"; every reader
-- refills it from updated_at to its own clock. Three details follow from that:
--
--   * The clock is statement_timestamp(): the database's, so skewed machines agree, and one value
--     for the whole statement, so RETURNING can compare against it. now() would stay at the start
--     of the caller's transaction; clock_timestamp() changes within the statement.
--   * RETURNING cannot see the row as it was before the update, so the outcome is written into
--     updated_at: a take stores the state at statement_timestamp(), a refusal stores the same
--     state one microsecond earlier (less that microsecond's refill). Both describe the same
--     bucket to every later reader, and "taken" is then exactly updated_at = statement_timestamp().
--   * A statement that waited for the row lock may find updated_at later than its own clock. The
--     refill is then negative, which moves the state back to its clock exactly (the cap cannot
--     bite: the bucket held at most burst at the later instant, and less before it).
--
-- An n above burst goes when the bucket is full and leaves it in debt (negative tokens) that
-- later takers wait out: a long message is never starved, and the sustained rate still holds.
--
-- The refill expression least(burst, b.tokens + per_second * elapsed) appears three times
-- because sqlc cannot resolve a column of a sub-select inside ON CONFLICT DO UPDATE.
INSERT INTO rate_buckets AS b (key, tokens, updated_at)
VALUES (sqlc.arg(key), sqlc.arg(burst)::float8 - sqlc.arg(n)::float8, statement_timestamp())
ON CONFLICT (key) DO UPDATE SET
    tokens = least(sqlc.arg(burst)::float8, b.tokens + sqlc.arg(per_second)::float8 * extract(epoch FROM statement_timestamp() - b.updated_at)::float8)
        - CASE WHEN least(sqlc.arg(burst)::float8, b.tokens + sqlc.arg(per_second)::float8 * extract(epoch FROM statement_timestamp() - b.updated_at)::float8)
                    >= least(sqlc.arg(n)::float8, sqlc.arg(burst)::float8)
               THEN sqlc.arg(n)::float8
               ELSE sqlc.arg(per_second)::float8 * 0.000001 END,
    updated_at = statement_timestamp()
        - CASE WHEN least(sqlc.arg(burst)::float8, b.tokens + sqlc.arg(per_second)::float8 * extract(epoch FROM statement_timestamp() - b.updated_at)::float8)
                    >= least(sqlc.arg(n)::float8, sqlc.arg(burst)::float8)
               THEN interval '0'
               ELSE interval '1 microsecond' END
RETURNING
    (updated_at = statement_timestamp())::bool AS taken,
    -- Seconds until min(n, burst) tokens are there, from statement_timestamp(); 0 when taken.
    (CASE WHEN updated_at = statement_timestamp() THEN 0
          ELSE (least(sqlc.arg(n)::float8, sqlc.arg(burst)::float8) - tokens) / sqlc.arg(per_second)::float8 - 0.000001 END)::float8 AS wait_seconds;
