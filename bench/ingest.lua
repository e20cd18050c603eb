-- wrk script: every request records one finished deployment carrying 10 new commits.
-- Each wrk thread owns 64 services and deploys them round-robin, so the commits of a
-- service's deployment chain onto its previous one and rodeo computes real shipped-change
-- ranges (10 commits each), not first-deployment horizon walks.
-- Usage: wrk -t2 -c32 -d30s -s bench/ingest.lua http://127.0.0.1:7777 -- <token>

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local SERVICES = 64
local ENVS = { "staging", "production", "prod-eu", "prod-us" }

function init(args)
  token = args[1]
  math.randomseed(os.time() * 1000 + tid)
  run = math.random(0, 0x7fffffff)
  n = 0
  now = os.date("!%Y-%m-%dT%H:%M:%SZ")
end

local bit = require("bit")

-- A well-spread 32-bit hash, so shas land at random places in the indexes as real ones
-- do (sequential shas would flatter every B-tree insert).
local function mix(x)
  x = bit.bxor(x, bit.rshift(x, 16))
  x = bit.tobit(x * 0x45d9f3b)
  x = bit.bxor(x, bit.rshift(x, 16))
  x = bit.tobit(x * 0x45d9f3b)
  return bit.bxor(x, bit.rshift(x, 16))
end

local function sha(service, gen, j)
  local seed = bit.bxor(run, tid * 0x10001, service * 0x3d4d51cb, gen * 16 + j)
  local a = mix(seed)
  local b = mix(a + 1)
  local c = mix(b + 2)
  local d = mix(c + 3)
  return string.format("%08x%08x%08x%08x%08x", bit.band(a, 0xffffffff) % 0x100000000,
    b % 0x100000000, c % 0x100000000, d % 0x100000000, (gen * 16 + j) % 0x100000000)
end

function request()
  local s = n % SERVICES
  local gen = math.floor(n / SERVICES)
  n = n + 1
  local commits = {}
  for j = 0, 9 do
    local parent
    if j > 0 then
      parent = '"' .. sha(s, gen, j - 1) .. '"'
    elseif gen > 0 then
      parent = '"' .. sha(s, gen - 1, 9) .. '"'
    end
    commits[#commits + 1] = string.format(
      '{"sha":"%s","parents":[%s],"author":"Load Tester","author_email":"load@example.com",' ..
      '"authored_at":"%s","committed_at":"%s","message":"feat: change %d of deployment %d\\n\\nbody"}',
      sha(s, gen, j), parent or "", now, now, j, gen)
  end
  local body = string.format(
    '{"service":"svc-%d-%d","environment":"%s","version":"1.%d.0","commit_sha":"%s","commits":[%s]}',
    tid, s, ENVS[(s % 4) + 1], gen, sha(s, gen, 9), table.concat(commits, ","))
  return wrk.format("POST", "/api/v1/deployments", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    errors_seen = (errors_seen or 0) + 1
    if errors_seen <= 3 then
      io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
    end
  end
end
