"""The Lua scripts of the Redis cache: each single-use or read-and-write step is one
script, which Redis runs whole, with nothing of another client in between.

Keys (redis_cache.py): a record is the hash `idp:r:MODEL:ID` with its payload (p), a
consumed flag (c), the time it was first kept (t), when it expires (e), and its user (s)
and grant (g), each written "=VALUE" so that an empty one differs from none. A user's
records of a model are the sorted set `idp:s:MODEL:SUB` (scored by first-kept time), a
grant's records the set `idp:g:GRANT`; an index keeps the longest lifetime of what it
lists. An index may still name a record that was removed or moved to another user or
grant: readers check each record's own s or g, and drop such names as they pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError


class Script:
    """A script sent once and run by its digest afterwards (again after Redis lost it)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def run(self, client: Redis, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)

    def queue(self, pipe: Pipeline, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Run in a MULTI/EXEC pipeline (with its whole text: a transaction cannot fall
        back when Redis has lost the digest)."""
        pipe.eval(self.source, len(keys), *keys, *args)


_EXTEND = """
local function extend(index, had, ttl)
  if ttl == '' then
    redis.call('PERSIST', index)
    return
  end
  local left = redis.call('PTTL', index)
  if had == 0 or (left >= 0 and left < tonumber(ttl)) then
    redis.call('PEXPIRE', index, ttl)
  end
end
"""

#: KEYS: record, user index, grant index. ARGV: payload, lifetime in ms ('' for none),
#: now, "=sub" or '', "=grant" or '', id, "model:id", consumed ('1' marks it), fresh
#: ('1': kept as a new record), expires at (epoch seconds or '').
#: An update keeps the record's first-kept time and its consumed flag.
UPSERT = Script(
    _EXTEND
    + """
if ARGV[9] == '1' then redis.call('DEL', KEYS[1]) end
local old = redis.call('HMGET', KEYS[1], 't', 'c')
local created = old[1] or ARGV[3]
local consumed = old[2] or '0'
if ARGV[8] == '1' then consumed = '1' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'p', ARGV[1], 'c', consumed, 't', created)
if ARGV[10] ~= '' then redis.call('HSET', KEYS[1], 'e', ARGV[10]) end
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 's', ARGV[4])
  local had = redis.call('EXISTS', KEYS[2])
  redis.call('ZADD', KEYS[2], created, ARGV[6])
  extend(KEYS[2], had, ARGV[2])
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'g', ARGV[5])
  local had = redis.call('EXISTS', KEYS[3])
  redis.call('SADD', KEYS[3], ARGV[7])
  extend(KEYS[3], had, ARGV[2])
end
return 1
"""
)

#: KEYS: record. The payload the first time; nil once consumed, or if absent.
CONSUME = Script(
    """
local found = redis.call('HMGET', KEYS[1], 'p', 'c')
if not found[1] or found[2] == '1' then return false end
redis.call('HSET', KEYS[1], 'c', '1')
return found[1]
"""
)

#: KEYS: user index. ARGV: "idp:r:MODEL:", "=sub". id, payload, consumed, id, ...
BY_SUB = Script(
    """
local listed = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local found = redis.call('HMGET', ARGV[1] .. id, 'p', 'c', 's')
  if found[1] and found[3] == ARGV[2] then
    table.insert(listed, id)
    table.insert(listed, found[1])
    table.insert(listed, found[2])
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return listed
"""
)

#: KEYS: grant index. ARGV: "idp:r:", "=grant". How many records of the grant it removed.
REVOKE = Script(
    """
local removed = 0
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. name
  if redis.call('HGET', key, 'g') == ARGV[2] then
    redis.call('DEL', key)
    removed = removed + 1
  end
end
redis.call('DEL', KEYS[1])
return removed
"""
)

#: KEYS: counter. ARGV: window in ms. The count; a new window begins with the first hit.
HIT = Script(
    """
local count = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""
)

#: KEYS: counter. One fewer, never below zero (its window goes on).
RELEASE = Script(
    """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then redis.call('DECR', KEYS[1]) end
return 1
"""
)

#: KEYS: turn. ARGV: the holder's token. Given back only by the unit that holds it.
GIVE_TURN = Script(
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
)
