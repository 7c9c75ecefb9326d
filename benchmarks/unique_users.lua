-- Each request as a different premium user, so the hourly limit never answers 429.
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", nil, {["Remote-User"] = "bench" .. n, ["Remote-Groups"] = "vibecode-premium"})
end
