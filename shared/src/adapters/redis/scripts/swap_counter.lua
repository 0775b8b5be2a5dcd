-- KEYS[1] a throttle counter; ARGV: the text the change was computed from ('' when
-- there was none), the new text, when it may be forgotten (unix ms).
-- Compare-and-set: writes only if nobody changed the counter since it was read.
local stored = redis.call('GET', KEYS[1]) or ''
if stored ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
return 1
