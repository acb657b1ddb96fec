import { writeFileSync } from 'node:fs'
import type { Lab } from '../lab.js'
import { freePort, withFreshPorts } from '../ports.js'
import { httpOk, type ManagedProcess } from '../process.js'

export interface NginxOptions {
  name?: string
  upstreamName?: string
  /** Initial content of the upstream include file (the file the router owns). */
  upstream: string
  /** Extra directives for the proxy location (e.g. retries for the zero-drop setup). */
  locationExtra?: string
  /** Extra directives for the http block. */
  httpExtra?: string
  /** nginx's keepalive_timeout for client connections (0 turns client keep-alive off). */
  keepaliveTimeout?: string
  /** Load Debian's libnginx-mod-http-lua (and the NDK it needs), for nginx-mode lua. */
  lua?: boolean
}

/** Where Debian's nginx packages put dynamic modules. */
export const NGINX_MODULES = '/usr/lib/nginx/modules'
export const LUA_MODULES = [
  `load_module ${NGINX_MODULES}/ndk_http_module.so;`,
  `load_module ${NGINX_MODULES}/ngx_http_lua_module.so;`
]

export interface NginxInstance {
  port: number
  url: string
  configFile: string
  upstreamFile: string
  prefix: string
  process: ManagedProcess
  /** argv of `nginx -t` and `nginx -s reload` for this instance (what the router is given). */
  testCommand: string[]
  reloadCommand: string[]
}

async function startNginxOnce(lab: Lab, options: NginxOptions): Promise<NginxInstance> {
  const name = options.name ?? 'nginx'
  const prefix = lab.mkdir(name)
  lab.mkdir(name, 'logs')
  lab.mkdir(name, 'tmp')
  const port = await freePort()
  const upstreamFile = `${prefix}/upstream.conf`
  writeFileSync(upstreamFile, options.upstream)
  const user = process.getuid?.() === 0 ? 'user root;' : ''
  const config = `${options.lua ? LUA_MODULES.join('\n') : ''}
${user}
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_timeout ${options.keepaliveTimeout ?? '65s'};
  ${options.httpExtra ?? ''}
  include ${upstreamFile};
  server {
    listen 127.0.0.1:${port};
    location = /__lab_ready { return 200 "ok"; }
    location / {
      proxy_pass http://${options.upstreamName ?? 'app'};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${options.locationExtra ?? ''}
    }
  }
}
`
  const configFile = `${prefix}/nginx.conf`
  writeFileSync(configFile, config)
  const base = ['nginx', '-p', prefix, '-c', configFile]
  const proc = lab.spawn(name, [...base, '-g', 'daemon off;'])
  await proc.waitReady(() => httpOk(`http://127.0.0.1:${port}/__lab_ready`), 15_000)
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    configFile,
    upstreamFile,
    prefix,
    process: proc,
    testCommand: [...base, '-t'],
    reloadCommand: [...base, '-s', 'reload']
  }
}

/** startNginxOnce on a free port, picked again if another process took it meanwhile. */
export function startNginx(lab: Lab, options: NginxOptions): Promise<NginxInstance> {
  return withFreshPorts(() => startNginxOnce(lab, options))
}
