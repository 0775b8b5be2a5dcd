-- KEYS[1] session hash. Revocation is permanent; a gone session is not recreated.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'r', '1')
end
return 1
