-- wrk script: GET one path with a bearer token.
-- Usage: wrk -t2 -c8 -d15s -s bench/get.lua http://127.0.0.1:7777 -- <token> <path>
function init(args)
  token = args[1]
  path = args[2]
end

function request()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end

function response(status, headers, body)
  if status ~= 200 then
    errors_seen = (errors_seen or 0) + 1
    if errors_seen <= 3 then
      io.stderr:write("unexpected status " .. status .. "\n")
    end
  end
end
