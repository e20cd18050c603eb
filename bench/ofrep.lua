-- wrk script: POST an OFREP evaluation with a context whose targeting key changes per
-- request. Usage:
--   wrk -t2 -c64 -d15s -s bench/ofrep.lua http://127.0.0.1:7801 -- <key> <path> [header]
-- <path> is /ofrep/v1/evaluate/flags/<flag> (single) or /ofrep/v1/evaluate/flags (bulk);
-- [header] is the auth header name (default Authorization with "Bearer "). For
-- unleash-edge's frontend API pass a GET path and "edge".
local counter = 0
function init(args)
  key = args[1]
  path = args[2]
  mode = args[3] or "ofrep"
  counter = math.random(1, 1000000)
end

function request()
  counter = counter + 1
  local user = "user-" .. counter
  if mode == "edge" then
    return wrk.format("GET", path .. "?userId=" .. user .. "&properties[email]=ada@acme.com&properties[plan]=pro&properties[seats]=42",
      { ["Authorization"] = key })
  end
  local body = '{"context":{"targetingKey":"' .. user .. '","email":"ada@acme.com","plan":"pro","country":"DE","seats":42,"appVersion":"4.3.0"}}'
  return wrk.format("POST", path, { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status ~= 200 then
    errors_seen = (errors_seen or 0) + 1
    if errors_seen <= 3 then
      io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
    end
  end
end
