-- KEYS[1] session hash; ARGV: now (unix ms), idle end (unix ms).
-- Slides the idle window forward only (a late, older refresh never moves it back)
-- and the native expiry with it; a gone session stays gone.
local f = redis.call('HMGET', KEYS[1], 'e', 'x')
if not f[1] or tonumber(f[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'e', ARGV[1])
local ends = ARGV[2]
if tonumber(f[2]) < tonumber(ends) then
  ends = f[2]
end
redis.call('PEXPIREAT', KEYS[1], ends)
return 1
