-- wrk script for bench/ingress: one deterministic chat completion, sent to
-- the simulator directly or through sluice, closed loop or at a fixed rate.
-- Settings come from the environment:
--   TARGET=direct|sluice  sluice adds the API key and x-sluice-cache: bypass
--                         (every request goes upstream; the cache never answers)
--   STREAM=0|1            "stream": true; wrk times a response to its last byte
--   RATE=N                requests/s for the whole run (0: as many as it can)
--   WRK_THREADS=T         wrk's -t, to split RATE between its threads
-- Prints one line from done():
--   RESULT requests=N rps=R p50_ms= p90_ms= p99_ms= non2xx=N socket_errors=N
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("TARGET") == "sluice" then
  wrk.headers["Authorization"] = "Bearer sk-sluice-demo"
  wrk.headers["x-sluice-cache"] = "bypass"
end
local stream = os.getenv("STREAM") == "1"
wrk.body = '{"model":"deepseek-chat","temperature":0,' ..
  (stream and '"stream":true,' or '') ..
  '"messages":[{"role":"user","content":"What is a sluice gate?"}]}'

-- Fixed rate: wrk pacing, not wrk2. Each wrk thread owns RATE/T of the rate
-- and hands out send times on one schedule, a slot every T/RATE seconds; a
-- connection that finishes a response waits for the next free slot. wrk
-- starts the clock when the request is written, so a server that falls
-- behind is not charged for the wait it caused (no coordinated-omission
-- correction); slots missed that way are dropped, so the achieved rate shows
-- it instead. The first request of each connection goes out unpaced.
local rate = tonumber(os.getenv("RATE") or "0") or 0
if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock, bench_timespec* out);
  ]]
  local CLOCK_MONOTONIC = 1
  local ts = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
    return tonumber(ts.tv_sec) * 1e3 + tonumber(ts.tv_nsec) / 1e6
  end
  local threads = tonumber(os.getenv("WRK_THREADS") or "1") or 1
  local interval_ms = threads * 1000 / rate
  local next_slot = nil
  -- wrk waits a whole number of milliseconds (it truncates); the schedule is
  -- absolute, so the rounding does not drift the average rate.
  delay = function()
    local now = now_ms()
    if next_slot == nil or next_slot < now then next_slot = now end
    local wait = next_slot - now
    next_slot = next_slot + interval_ms
    return wait
  end
end

-- wrk counts a status above 399 in errors.status.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
    "non2xx=%d socket_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
