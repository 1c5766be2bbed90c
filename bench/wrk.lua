-- wrk script for sync2gear benches.
-- Arguments (after `--`): a bearer token ("" for none), then any number of JSON
-- bodies: with bodies each request is a POST of the next body (round robin),
-- without, a GET. At the end one JSON line with the figures goes to stdout.
local bodies, next_body = {}, 0

function init(args)
  if args[1] ~= nil and args[1] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
  for k = 2, #args do bodies[#bodies + 1] = args[k] end
  if #bodies > 0 then
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
  end
end

function request()
  if #bodies == 0 then return wrk.format() end
  next_body = next_body % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[next_body])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    e.status, latency:percentile(50), latency:percentile(99), latency.max))
end
