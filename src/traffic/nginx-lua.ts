import { ConfigurationError, ToolError } from '../core/errors.js'
import { ChangeQueue } from './change-queue.js'
import { formatCommand } from '../core/exec.js'
import { log } from '../core/log.js'
import { takeDirectoryLock } from './lock.js'
import { parseUpstream, type NginxRouterOptions } from './nginx.js'
import type { ChangeMeta, Release, Router, RouterState } from './router.js'
import { SLOTS, type Slot, type Weights } from './slots.js'
import { readFile, writeFileAtomic } from './transport.js'

/**
 * nginx without reloads, the way ingress-nginx does it: `balancer_by_lua` (Debian's
 * libnginx-mod-http-lua) picks blue or green per request from weights in a `lua_shared_dict`,
 * and a local-only admin endpoint changes them. A reload drops keep-alive requests (an old
 * worker closes idle connections a client is about to reuse); a shared-dict write does not.
 *
 * The include file is still written at every change, with the weights in it, so a restart
 * (which empties the dict) or a reload comes back to the same weights. The dict's value wins
 * only when it is at least as recent as the file (`changed` stamps), so a file restored by
 * hand and reloaded is obeyed too.
 */
/** The reload router's options, plus the admin endpoint the Lua balancer takes weights from. */
export interface NginxLuaRouterOptions extends NginxRouterOptions {
  /** `/path/to/admin.sock` (unix socket) or `127.0.0.1:port`: never anything else. */
  admin: string
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/
const STAMP = /^[0-9T:.Z-]+$/

/** The admin address, refused unless it is a unix socket path or a loopback host:port. */
export function parseAdminAddress(
  input: string,
  raw: string
): { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number } {
  const accepted =
    'expected an absolute unix socket path (/run/nginx/ops-actions.sock) or 127.0.0.1:port; the admin endpoint is never exposed beyond this host'
  const value = raw.trim()
  if (value.startsWith('/')) {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(value) || value.includes('..')) {
      throw new ConfigurationError(`input \`${input}\` = \`${raw}\`: ${accepted}`, input)
    }
    return { kind: 'unix', path: value }
  }
  const m = /^(127\.0\.0\.1|\[::1\]):(\d{1,5})$/.exec(value)
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new ConfigurationError(`input \`${input}\` = \`${raw}\`: ${accepted}`, input)
  }
  return { kind: 'tcp', host: m[1], port: Number(m[2]) }
}

/** balancer_by_lua's set_current_peer takes IP addresses only: no DNS in the balancer. */
export function luaPeer(input: string, server: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([0-9.]+)):(\d{1,5})$/.exec(server)
  const host = m?.[1] ?? m?.[2]
  if (!m || !host || (m[2] && !IPV4.test(m[2])) || Number(m[3]) < 1 || Number(m[3]) > 65535) {
    throw new ConfigurationError(
      `input \`${input}\` entry \`${server}\`: nginx-mode \`lua\` needs IP:port (the Lua balancer does not resolve names), such as 10.0.0.5:8080`,
      input
    )
  }
  return { host, port: Number(m[3]) }
}

const luaString = (s: string): string => JSON.stringify(s) // ASCII-only inputs: a valid Lua string

/** Renders the include file: header, shared dict, upstream with the Lua balancer, admin server. */
export function renderLuaUpstream(
  o: Pick<NginxLuaRouterOptions, 'upstreamName' | 'servers' | 'upstreamOptions' | 'admin'>,
  weights: Weights,
  previous: Slot,
  changedAt: string
): string {
  if (!STAMP.test(changedAt)) throw new Error(`bad change stamp ${changedAt}`)
  const dict = `ops_actions_${o.upstreamName}`
  const admin = parseAdminAddress('nginx-admin', o.admin)
  const peers = SLOTS.map((slot) => {
    const list = o.servers[slot].map((s) => {
      const p = luaPeer(`${slot}-servers`, s)
      return `{ ${luaString(p.host)}, ${p.port} }`
    })
    return `${slot} = { ${list.join(', ')} }`
  }).join(', ')
  const listen =
    admin.kind === 'unix'
      ? `listen unix:${admin.path};`
      : `listen ${admin.host}:${admin.port};\n    allow 127.0.0.1;\n    allow ::1;\n    deny all;`
  return `# Managed by ops-actions (deploy-bluegreen / canary-promote, nginx-mode lua). Edits here are overwritten.
# ops-actions: blue=${weights.blue} green=${weights.green} previous=${previous} changed=${changedAt}
# Needs libnginx-mod-http-lua (load_module ndk_http_module.so and ngx_http_lua_module.so).
lua_shared_dict ${dict} 64k;
upstream ${o.upstreamName} {
    server 0.0.0.1; # placeholder: the Lua balancer below picks every peer
    balancer_by_lua_block {
        local balancer = require "ngx.balancer"
        local blue, green = ${weights.blue}, ${weights.green}
        local v = ngx.shared.${dict}:get("weights")
        if v then
            local b, g, c = v:match("^(%d+) (%d+) (%S+)$")
            -- the dict wins only when it is as recent as this file
            if c and c >= ${luaString(changedAt)} then blue, green = tonumber(b), tonumber(g) end
        end
        local ctx = ngx.ctx
        if not ctx.ops_slot then
            if blue + green <= 0 then return ngx.exit(ngx.ERROR) end
            if not package.loaded.ops_actions_seeded then
                math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
                package.loaded.ops_actions_seeded = true
            end
            ctx.ops_slot = (math.random() * (blue + green) < blue) and "blue" or "green"
            local peers = { ${peers} }
            ctx.ops_peers = peers[ctx.ops_slot]
            ctx.ops_i = math.random(#ctx.ops_peers)
            -- a retry (proxy_next_upstream) stays in the chosen slot, on its next server
            if #ctx.ops_peers > 1 then balancer.set_more_tries(#ctx.ops_peers - 1) end
        else
            ctx.ops_i = ctx.ops_i % #ctx.ops_peers + 1
        end
        local p = ctx.ops_peers[ctx.ops_i]
        local ok, err = balancer.set_current_peer(p[1], p[2])
        if not ok then
            ngx.log(ngx.ERR, "ops-actions balancer: ", err)
            return ngx.exit(ngx.ERROR)
        end
    }
${o.upstreamOptions.map((d) => `    ${d.replace(/;?$/, ';')}\n`).join('')}}
# The admin endpoint: GET reads the live weights, PUT blue=N&green=N&changed=STAMP sets them.
server {
    ${listen}
    access_log off;
    location = /ops-actions/weights {
        content_by_lua_block {
            local d = ngx.shared.${dict}
            if ngx.req.get_method() == "PUT" then
                ngx.req.read_body()
                local body = ngx.req.get_body_data() or ""
                local b, g, c = body:match("^blue=(%d+)&green=(%d+)&changed=([0-9T:.Z-]+)$")
                if not b or tonumber(b) > 100 or tonumber(g) > 100 then
                    ngx.status = 400
                    ngx.say("expected blue=N&green=N&changed=STAMP with N from 0 to 100")
                    return
                end
                local ok, err = d:set("weights", tonumber(b) .. " " .. tonumber(g) .. " " .. c)
                if not ok then
                    ngx.status = 500
                    ngx.say("shared dict: ", err)
                    return
                end
            elseif ngx.req.get_method() ~= "GET" then
                ngx.status = 405
                ngx.say("GET or PUT")
                return
            end
            local blue, green, changed = ${weights.blue}, ${weights.green}, ${luaString(changedAt)}
            local v = d:get("weights")
            if v then
                local b, g, c = v:match("^(%d+) (%d+) (%S+)$")
                if c and c >= changed then blue, green, changed = tonumber(b), tonumber(g), c end
            end
            ngx.say("blue=" .. blue .. "&green=" .. green .. "&changed=" .. changed)
        }
    }
    location / { return 404; }
}
`
}

/** `blue=N&green=N&changed=STAMP`, as the admin endpoint answers. */
export function parseAdminAnswer(text: string): { weights: Weights; changed: string } {
  const m = /^blue=(\d+)&green=(\d+)&changed=([0-9T:.Z-]+)\s*$/.exec(text)
  if (!m) throw new ToolError(`the nginx admin endpoint answered \`${text.slice(0, 200)}\``)
  return { weights: { blue: Number(m[1]), green: Number(m[2]) }, changed: m[3] }
}

/** curl exit codes that mean "nobody listens there" (not "it answered badly"). */
const NOT_LISTENING = new Set([7, 28, 56])

export class NginxLuaRouter implements Router {
  readonly name: string

  constructor(private readonly options: NginxLuaRouterOptions) {
    parseAdminAddress('nginx-admin', options.admin)
    this.name = `nginx lua ${options.upstreamFile} (${options.transport.name})`
  }

  /** curl through the transport: the admin endpoint is reachable from the nginx host only. */
  private async admin(
    method: 'GET' | 'PUT',
    body?: string
  ): Promise<{ code: number; text: string }> {
    const a = parseAdminAddress('nginx-admin', this.options.admin)
    const argv = ['curl', '-sS', '--max-time', '5', '-w', '\\n%{http_code}', '-X', method]
    if (a.kind === 'unix') argv.push('--unix-socket', a.path)
    if (body !== undefined) argv.push('--data-binary', '@-')
    argv.push(
      a.kind === 'unix'
        ? 'http://localhost/ops-actions/weights'
        : `http://${a.host}:${a.port}/ops-actions/weights`
    )
    const r = await this.options.transport.run(argv, { input: body ?? '', timeoutMs: 10_000 })
    if (r.code !== 0) {
      const e = new ToolError(
        `${this.name}: admin endpoint ${this.options.admin} unreachable (curl exit ${r.code}): ${r.stderr.trim()}`
      )
      Object.assign(e, { curlExit: r.code })
      throw e
    }
    const lines = r.stdout.trimEnd().split('\n')
    const code = Number(lines.pop())
    return { code, text: lines.join('\n') }
  }

  async read(): Promise<RouterState> {
    const text = await readFile(this.options.transport, this.options.upstreamFile)
    if (text === undefined) {
      throw new ToolError(
        `${this.name}: upstream file does not exist; create it (see examples/nginx/lua) or point nginx-upstream-file at it`
      )
    }
    const file = parseUpstream(text, this.options.servers)
    let live: { code: number; text: string }
    try {
      live = await this.admin('GET')
    } catch (error) {
      const exit = (error as { curlExit?: number }).curlExit
      // A plain upstream file (before the first change in lua mode): nginx obeys the file.
      if (
        !text.includes('balancer_by_lua_block') &&
        exit !== undefined &&
        NOT_LISTENING.has(exit)
      ) {
        return {
          ...file,
          detail: `${this.name} (plain upstream file; the next change installs the Lua balancer)`
        }
      }
      throw error
    }
    if (live.code !== 200) {
      throw new ToolError(`${this.name}: admin endpoint answered HTTP ${live.code}: ${live.text}`)
    }
    const answer = parseAdminAnswer(live.text)
    return { ...file, weights: answer.weights, changedAt: answer.changed, detail: this.name }
  }

  private readonly changes = new ChangeQueue()

  setWeights(weights: Weights, meta: ChangeMeta): Promise<void> {
    return this.changes.run(() => this.change(weights, meta))
  }

  private async change(weights: Weights, meta: ChangeMeta): Promise<void> {
    const { transport, upstreamFile } = this.options
    const old = await readFile(transport, upstreamFile)
    const changed = new Date().toISOString()
    // The file first: if nginx restarts right after the switch, it comes back to the new weights.
    await writeFileAtomic(
      transport,
      upstreamFile,
      renderLuaUpstream(this.options, weights, meta.previous, changed)
    )
    let answer: { code: number; text: string }
    try {
      answer = await this.admin(
        'PUT',
        `blue=${weights.blue}&green=${weights.green}&changed=${changed}`
      )
    } catch (error) {
      const exit = (error as { curlExit?: number }).curlExit
      if (exit !== undefined && NOT_LISTENING.has(exit)) {
        // No admin endpoint yet (nginx still runs a plain upstream file): one reload installs it.
        log.warning(
          `${this.name}: no admin endpoint at ${this.options.admin}; reloading once to install it`
        )
        await this.reloadOnce(old)
        return this.awaitWeights(weights)
      }
      await this.restore(old)
      throw error
    }
    if (answer.code !== 200) {
      await this.restore(old)
      throw new ToolError(
        `${this.name}: admin endpoint refused the weights (HTTP ${answer.code}: ${answer.text}); file restored, traffic unchanged`
      )
    }
    const now = parseAdminAnswer(answer.text)
    if (now.weights.blue !== weights.blue || now.weights.green !== weights.green) {
      // Not obeyed (the loaded file is stamped later: a clock ahead): the file must say what is
      // live, or the next reload moves traffic that nobody asked to move then.
      await this.restore(old)
      throw new ToolError(
        `${this.name}: admin endpoint reports ${JSON.stringify(now.weights)} (changed ${now.changed}) after setting ${JSON.stringify(weights)} (changed ${changed}); file restored, traffic unchanged. Is a clock ahead?`
      )
    }
    log.debug(`${this.name}: weights ${JSON.stringify(weights)} set without a reload`)
  }

  /** After the installing reload: the signal returns before nginx listens on the new admin. */
  private async awaitWeights(weights: Weights, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let last: string
    for (;;) {
      try {
        const r = await this.admin('GET')
        if (r.code === 200) {
          const now = parseAdminAnswer(r.text).weights
          if (now.blue === weights.blue && now.green === weights.green) return
        }
        last = `HTTP ${r.code}: ${r.text}`
      } catch (error) {
        last = (error as Error).message
      }
      if (Date.now() > deadline) {
        throw new ToolError(
          `${this.name}: nginx reloaded, but the admin endpoint does not report ${JSON.stringify(weights)} within ${timeoutMs / 1000} s (${last})`
        )
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  private async reloadOnce(old: string | undefined): Promise<void> {
    const { transport, testCommand, reloadCommand } = this.options
    for (const [what, argv] of [
      ['rejected the new upstream file', testCommand],
      ['failed', reloadCommand]
    ] as const) {
      const r = await transport.run(argv)
      if (r.code !== 0) {
        await this.restore(old)
        throw new ToolError(
          `${this.name}: \`${formatCommand(argv)}\` ${what}, so the old file was restored (traffic unchanged): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`
        )
      }
    }
  }

  private async restore(old: string | undefined): Promise<void> {
    if (old !== undefined)
      await writeFileAtomic(this.options.transport, this.options.upstreamFile, old)
  }

  lock(owner: string, waitMs: number): Promise<Release> {
    return takeDirectoryLock(
      this.options.transport,
      `${this.options.upstreamFile}.ops-actions.lock`,
      owner,
      waitMs
    )
  }
}
