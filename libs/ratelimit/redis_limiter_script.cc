// Mirrors sliding_window.cc and local_limiter.cc; the parity test runs both.
#include "libs/ratelimit/redis_limiter_script.h"

namespace sluice::ratelimit {

const char kReserveScript[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local W = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local ask = {r = tonumber(ARGV[3]), t = tonumber(ARGV[4])}
local ask_u = tonumber(ARGV[5])
local w = math.floor(now / W)
local e = now - w * W
local n = #KEYS - 1

local function fits(L, c, p, cost)
  return (c + cost) * W + p * (W - e) <= L * W
end
local function remaining(L, c, p)
  return math.max(0, math.floor((L * W - c * W - p * (W - e)) / W))
end
local function retry_ms(L, c, p, cost)
  if cost > L then return -1 end
  local to_next = W - e
  local room = L - c - cost
  if room >= 0 and p > 0 then
    local x = math.ceil(to_next - room * W / p)
    if x < to_next then return math.max(x, 1) end
  end
  local into = 0
  if c > 0 then into = math.max(0, math.ceil(W - (L - cost) * W / c)) end
  return to_next + into
end
local function reset_ms(c, p)
  if c > 0 then return 2 * W - e end
  if p > 0 then return W - e end
  return 0
end

local subjects = {}
local denied, denied_limit, retry = 0, '', 0
-- Ledgers this Redis may have lost (it restarted empty): unknown until
-- they are restored (kRestoreLedgersScript sets the marker).
local ledgers_known = ARGV[7 + 3 * n] ~= '1' or
    redis.call('EXISTS', KEYS[1] .. ':ledgers') == 1
local unknown_ledger = 0
for i = 1, n do
  local base = KEYS[i + 1]
  local s = {base = base, budget = tonumber(ARGV[5 + 3 * i]),
             lim = {r = tonumber(ARGV[3 + 3 * i]), t = tonumber(ARGV[4 + 3 * i])}}
  s.rated = s.lim.r > 0 or s.lim.t > 0
  if s.rated then
    local cur = redis.call('HMGET', base .. ':' .. w, 'r', 't')
    local prev = redis.call('HMGET', base .. ':' .. (w - 1), 'r', 't')
    s.cur = {r = tonumber(cur[1]) or 0, t = tonumber(cur[2]) or 0}
    s.prev = {r = tonumber(prev[1]) or 0, t = tonumber(prev[2]) or 0}
    for _, d in ipairs({'r', 't'}) do
      local L = s.lim[d]
      if L > 0 and not fits(L, s.cur[d], s.prev[d], ask[d]) and
          denied_limit ~= 'budget' then
        local x = retry_ms(L, s.cur[d], s.prev[d], ask[d])
        if denied == 0 or retry >= 0 and (x < 0 or x > retry) then
          denied, retry = i, x
          denied_limit = (d == 'r') and 'rpm' or 'tpm'
        end
      end
    end
  end
  if s.budget > 0 and not ledgers_known and unknown_ledger == 0 then
    unknown_ledger = i
  end
  if s.budget > 0 then
    local spent = tonumber(redis.call('GET', base .. ':budget')) or 0
    if spent + ask_u > s.budget and denied_limit ~= 'budget' then
      denied, denied_limit, retry = i, 'budget', 0
    end
  end
  subjects[i] = s
end

if unknown_ledger > 0 then
  denied, denied_limit, retry = unknown_ledger, 'ledger', 1000
end
local admitted = denied == 0
local reservation = ''
if admitted then
  local rec = {W = W, w = w, r = ask.r, t = ask.t, u = ask_u,
               rated = {}, budgets = {}}
  for i = 1, n do
    local s = subjects[i]
    if s.rated then
      local k = s.base .. ':' .. w
      redis.call('HINCRBY', k, 'r', ask.r)
      redis.call('HINCRBY', k, 't', ask.t)
      redis.call('PEXPIRE', k, 2 * W + 1000)
      s.cur.r = s.cur.r + ask.r
      s.cur.t = s.cur.t + ask.t
      table.insert(rec.rated, s.base)
    end
    if s.budget > 0 then
      redis.call('INCRBY', s.base .. ':budget', ask_u)
      table.insert(rec.budgets, s.base)
    end
  end
  -- The caller's id: one that timed out waiting for this reply still knows
  -- what to settle.
  local id = ARGV[6 + 3 * n]
  redis.call('SET', KEYS[1] .. ':' .. id, cjson.encode(rec), 'PX', ttl)
  reservation = id
end

-- Header values from the subject with the least room in each dimension.
local out = {r = {0, 0, 0}, t = {0, 0, 0}}
for _, d in ipairs({'r', 't'}) do
  local best = nil
  for i = 1, n do
    local s = subjects[i]
    if s.rated and s.lim[d] > 0 then
      local left = remaining(s.lim[d], s.cur[d], s.prev[d])
      if best == nil or left < best then
        best = left
        out[d] = {s.lim[d], left, reset_ms(s.cur[d], s.prev[d])}
      end
    end
  end
end

return {admitted and 1 or 0, reservation, denied, denied_limit, retry,
        out.r[1], out.r[2], out.r[3], out.t[1], out.t[2], out.t[3]}
)lua";

const char kSettleScript[] = R"lua(
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
redis.call('DEL', KEYS[1])
local rec = cjson.decode(raw)
local dr = tonumber(ARGV[1]) - rec.r
local dt = tonumber(ARGV[2]) - rec.t
local du = tonumber(ARGV[3]) - rec.u

local function add(key, field, delta)
  if delta == 0 then return end
  local v
  if field then v = redis.call('HINCRBY', key, field, delta)
  else v = redis.call('INCRBY', key, delta) end
  if v < 0 then
    if field then redis.call('HSET', key, field, 0)
    else redis.call('SET', key, 0, 'KEEPTTL') end
  end
end

-- A window that left the sliding window no longer matters.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if rec.w >= math.floor(now / rec.W) - 1 then
  for _, base in ipairs(rec.rated) do
    local k = base .. ':' .. rec.w
    if redis.call('EXISTS', k) == 1 then
      add(k, 'r', dr)
      add(k, 't', dt)
    end
  end
end
for _, base in ipairs(rec.budgets) do add(base .. ':budget', nil, du) end
return 1
)lua";

const char kRestoreLedgersScript[] = R"lua(
for i = 2, #KEYS do
  local spent = tonumber(redis.call('GET', KEYS[i])) or 0
  if spent < tonumber(ARGV[i - 1]) then redis.call('SET', KEYS[i], ARGV[i - 1]) end
end
redis.call('SET', KEYS[1], '1')
return 1
)lua";

const char kRaiseSpentScript[] = R"lua(
local spent = tonumber(redis.call('GET', KEYS[1])) or 0
if spent < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
)lua";

}  // namespace sluice::ratelimit
