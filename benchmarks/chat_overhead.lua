-- POST /v1/chat/completions as fresh premium users (at most 900 calls each, under the hourly
-- limit) and keep every answer's X-Vibe-Overhead-Ms; `done` prints them for benchmarks/gateway.py.
-- Arguments (after `--`): a run id that makes the users fresh; optionally a ramp-up in ms and
-- this thread's connection count: each connection's first request then waits a random part of
-- the ramp, so the clients do not all start in the same instant (Locust ramps users up for the
-- same reason) and the run measures the gateway, not a burst the load generator made.
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("id", count)
  table.insert(threads, thread)
end

function init(args)
  run = args[1] or "run"
  ramp = tonumber(args[2] or "0")
  starting = tonumber(args[3] or "0")
  math.randomseed(id * 7919)
  sent = 0
  overheads = {}
  failures = 0
  wrk.method = "POST"
  wrk.body = '{"messages":[{"role":"user","content":"hi"}],"model":"bench"}'
end

function delay()
  if starting > 0 then
    starting = starting - 1
    return math.random(0, ramp)
  end
  return 0
end

function request()
  sent = sent + 1
  local user = "bench-" .. run .. "-" .. id .. "-" .. math.floor(sent / 900)
  return wrk.format(nil, nil, {
    ["Content-Type"] = "application/json",
    ["Remote-User"] = user,
    ["Remote-Groups"] = "vibecode-premium",
  })
end

function response(status, headers, body)
  local overhead = headers["x-vibe-overhead-ms"] or headers["X-Vibe-Overhead-Ms"]
  if status ~= 200 or overhead == nil then
    failures = failures + 1
  else
    overheads[#overheads + 1] = overhead
  end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write("failures ", thread:get("failures"), "\n")
    for _, value in ipairs(thread:get("overheads")) do
      io.write("overhead ", value, "\n")
    end
  end
end
