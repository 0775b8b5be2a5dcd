-- KEYS[1] the user's set of session ids; ARGV: session id, the session's latest
-- possible end (unix ms). Adds the id and keeps the set alive at least that long.
redis.call('SADD', KEYS[1], ARGV[1])
local ends = redis.call('PEXPIRETIME', KEYS[1])
if ends < 0 or ends < tonumber(ARGV[2]) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
