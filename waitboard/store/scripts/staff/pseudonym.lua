-- staff/pseudonym.lua: the person id (pseudonym) of a subject at the identity provider,
-- drawn at the first sign-in and kept, with its way back for a deletion.
-- KEYS[1] subjects (hash: keyed digest of issuer and sub -> person id), KEYS[2] subject-of
-- (hash: person id -> that digest); ARGV[1] the subject's digest, ARGV[2] a fresh random id.
-- Guarantees: one person id per subject, however many sign in at once; every id has its
-- way back, so deleting the person removes the subject's mapping too. Returns the id.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
  return ARGV[2]
end
return redis.call('HGET', KEYS[1], ARGV[1])
