-- wrk script: castVote by many users. Tokens (one per line) and suggestion ids come from the
-- files named by TOKENS_FILE and SUGGESTIONS_FILE; each request picks a random pair and value.
local function lines(path)
  local out = {}
  for line in io.lines(path) do if #line > 0 then table.insert(out, line) end end
  return out
end
local tokens = lines(os.getenv("TOKENS_FILE"))
local suggestions = lines(os.getenv("SUGGESTIONS_FILE"))
local values = { "UP", "UP", "DOWN", "NONE" }
local threads = {}
function setup(thread)
  thread:set("seed", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  bad = 0
  math.randomseed(os.time() * 1000 + seed)
end
function request()
  local token = tokens[math.random(#tokens)]
  local suggestion = suggestions[math.random(#suggestions)]
  local value = values[math.random(#values)]
  local body = '{"query":"mutation($s: ID!, $v: VoteValue!) { castVote(input: { suggestionId: $s, value: $v }) { upvotes downvotes score } }","variables":{"s":"' .. suggestion .. '","v":"' .. value .. '"}}'
  return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format("BAD_RESPONSES %d\n", total))
end
