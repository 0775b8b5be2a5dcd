-- KEYS[1] session hash; ARGV: expected version, next version, data, now (unix ms),
-- idle end (now + idle timeout, unix ms).
-- The conditional write: only on the expected version of a session that is not
-- revoked. Slides the native expiry to min(idle end, absolute end). Returns the
-- owner and creation time (the rest of the written session is known to the caller),
-- or false for a conflict (wrong version, revoked, or gone).
local f = redis.call('HMGET', KEYS[1], 'v', 'r', 'u', 'c', 'x')
if not f[1] or f[1] ~= ARGV[1] or f[2] ~= '0' then
  return false
end
redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2], 'e', ARGV[4])
local ends = ARGV[5]
if tonumber(f[5]) < tonumber(ends) then
  ends = f[5]
end
redis.call('PEXPIREAT', KEYS[1], ends)
return {f[3], f[4]}
