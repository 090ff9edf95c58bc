-- wrk script for bench/peer.py: votes by many users on many suggestions. MODE=canyu sends
-- Canyu's castVote with a bearer token from ACTORS_FILE; MODE=peer sends PostGraphile's
-- castVote (peer.cast_vote) with a user id from ACTORS_FILE. Each request picks a random actor,
-- a random suggestion from SUGGESTIONS_FILE and a random value (UP, UP, DOWN, NONE, as
-- bench/vote.lua). A response counts as good when it is HTTP 200 and holds no "errors".
local function lines(path)
  local out = {}
  for line in io.lines(path) do if #line > 0 then table.insert(out, line) end end
  return out
end
local mode = os.getenv("MODE")
local actors = lines(os.getenv("ACTORS_FILE"))
local suggestions = lines(os.getenv("SUGGESTIONS_FILE"))
local values = { "UP", "UP", "DOWN", "NONE" }
local canyu_query = "mutation($s: ID!, $v: VoteValue!) { castVote(input: { suggestionId: $s, value: $v }) { upvotes downvotes score } }"
local peer_query = "mutation($u: UUID!, $s: UUID!, $v: String!) { castVote(input: { userId: $u, suggestionId: $s, value: $v }) { suggestion { upvotes downvotes score } } }"

local threads = {}
function setup(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  good, bad = 0, 0
  -- WRK_PROCESS tells apart wrk processes started in the same second (bench/replicas.py runs
  -- one per replica): without it they would draw the same users and suggestions in lockstep.
  math.randomseed(os.time() * 1000 + seed + 100 * (tonumber(os.getenv("WRK_PROCESS")) or 0))
end
function request()
  local actor = actors[math.random(#actors)]
  local suggestion = suggestions[math.random(#suggestions)]
  local value = values[math.random(#values)]
  if mode == "canyu" then
    local body = '{"query":"' .. canyu_query .. '","variables":{"s":"' .. suggestion .. '","v":"' .. value .. '"}}'
    return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. actor }, body)
  end
  local body = '{"query":"' .. peer_query .. '","variables":{"u":"' .. actor .. '","s":"' .. suggestion .. '","v":"' .. value .. '"}}'
  return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" }, body)
end
function response(status, headers, body)
  if status == 200 and not string.find(body, '"errors"', 1, true) and string.find(body, '"score"', 1, true) then
    good = good + 1
  else
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  io.write(string.format("COUNTS good=%d bad=%d refused=0 served=0\n", g, b))
end
