-- wrk script: the same deterministic chat completion every time, with the
-- headers given in the environment (CACHE_MODE: "" or "bypass").
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-sluice-demo"
local mode = os.getenv("CACHE_MODE")
if mode ~= nil and mode ~= "" then wrk.headers["x-sluice-cache"] = mode end
wrk.body = '{"model":"deepseek-chat","temperature":0,"messages":[{"role":"user","content":"What is a sluice gate?"}]}'

done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
