-- KEYS[1] session hash; ARGV: user id, data, version, created ms, last extended ms,
-- revoked (0/1), absolute end (created + absolute lifetime), expires at (both unix ms).
-- Writes a session that does not exist yet and sets its native expiry; returns 0 if
-- the id is taken (ids are random, so that is a bug, never overwritten).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'd', ARGV[2], 'v', ARGV[3], 'c', ARGV[4],
  'e', ARGV[5], 'r', ARGV[6], 'x', ARGV[7])
redis.call('PEXPIREAT', KEYS[1], ARGV[8])
return 1
