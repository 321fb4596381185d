import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fastifyPath, ROUTES, type Route, type RouteName } from './routes.js';

export type Handler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route table's name of this route: what its scope, and the check that every route has a handler, go by. */
    routeName?: RouteName;
  }
}

/** Register the handler of a route of the table, at the table's method and path. */
export function registerRoute(app: FastifyInstance, name: RouteName, handler: Handler): void {
  const route = ROUTES[name] as Route;
  app.route({ method: route.method.toUpperCase() as never, url: fastifyPath(route.path), handler, config: { routeName: name } });
}

/** Register one handler for each named route. */
export function registerRoutes(app: FastifyInstance, handlers: Partial<Record<RouteName, Handler>>): void {
  for (const [name, handler] of Object.entries(handlers)) registerRoute(app, name as RouteName, handler as Handler);
}
