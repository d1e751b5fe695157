// Test peer: JDK 17 com.sun.net.httpserver.HttpServer on platform threads.
// Run: java tests/peers/JdkServer.java <port> [downstream_base_url]
// Port 0 picks a free port. Prints "READY <port>" once listening.
// BIND_ADDR (env) sets the listen address, default 127.0.0.1.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

public class JdkServer {
	private static String downstream;

	public static void main(String[] args) throws IOException {
		if (args.length < 1) {
			System.err.println("usage: JdkServer <port> [downstream_base_url]");
			System.exit(2);
		}
		int port = Integer.parseInt(args[0]);
		downstream = args.length > 1 ? stripSlash(args[1]) : null;
		String bind = System.getenv().getOrDefault("BIND_ADDR", "127.0.0.1");
		// Headers and body go out in two writes; without TCP_NODELAY, Nagle
		// plus delayed ACKs stall every keep-alive response by ~40 ms.
		System.setProperty("sun.net.httpserver.nodelay", "true");

		HttpServer server = HttpServer.create(new InetSocketAddress(bind, port), 128);
		server.createContext("/hello", ex -> reply(ex, 200, "hello\n", "text/plain"));
		server.createContext("/fail", ex -> reply(ex, 500, "fail\n", "text/plain"));
		server.createContext("/users/", JdkServer::users);
		server.createContext("/echo", JdkServer::echo);
		server.createContext("/chain", JdkServer::chain);
		server.createContext("/log", JdkServer::log);
		server.createContext("/stack", JdkServer::stack);
		server.createContext("/headers", JdkServer::headers);
		server.createContext("/", ex -> reply(ex, 404, "not found\n", "text/plain"));
		server.setExecutor(Executors.newFixedThreadPool(8));
		server.start();
		System.out.println("READY " + server.getAddress().getPort());
		System.out.flush();
	}

	private static String stripSlash(String s) {
		return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
	}

	private static void reply(HttpExchange ex, int status, String body, String type)
			throws IOException {
		drain(ex.getRequestBody());
		byte[] b = body.getBytes(StandardCharsets.UTF_8);
		ex.getResponseHeaders().set("Content-Type", type);
		ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
		try (OutputStream os = ex.getResponseBody()) {
			os.write(b);
		}
	}

	private static long drain(InputStream in) throws IOException {
		byte[] buf = new byte[16384];
		long total = 0;
		int n;
		while ((n = in.read(buf)) > 0)
			total += n;
		return total;
	}

	private static void users(HttpExchange ex) throws IOException {
		String id = ex.getRequestURI().getPath().substring("/users/".length());
		if (!id.matches("[0-9]+")) {
			reply(ex, 404, "no such user\n", "text/plain");
			return;
		}
		String json = "{\"id\":" + id + ",\"name\":\"user" + id + "\"}\n";
		reply(ex, 200, json, "application/json");
	}

	private static void echo(HttpExchange ex) throws IOException {
		if (!"POST".equals(ex.getRequestMethod())) {
			reply(ex, 405, "POST only\n", "text/plain");
			return;
		}
		long n = drain(ex.getRequestBody());
		reply(ex, 200, "got " + n + " bytes\n", "text/plain");
	}

	private static void chain(HttpExchange ex) throws IOException {
		if (downstream == null) {
			reply(ex, 502, "no downstream configured\n", "text/plain");
			return;
		}
		int status;
		try {
			HttpURLConnection c = (HttpURLConnection) new URL(downstream + "/hello")
					.openConnection();
			c.setConnectTimeout(5000);
			c.setReadTimeout(5000);
			status = c.getResponseCode();
			InputStream in = status < 400 ? c.getInputStream() : c.getErrorStream();
			if (in != null) {
				drain(in);
				in.close();
			}
		} catch (IOException e) {
			reply(ex, 502, "downstream error: " + e.getMessage() + "\n", "text/plain");
			return;
		}
		reply(ex, 200, "downstream status " + status + "\n", "text/plain");
	}

	// /log[?msg=TEXT][&stream=stderr]: one line printed in the handler.
	private static void log(HttpExchange ex) throws IOException {
		String msg = queryParam(ex, "msg", "handled /log");
		PrintStream out = "stderr".equals(queryParam(ex, "stream", ""))
				? System.err : System.out;
		out.println(msg);
		out.flush();
		reply(ex, 200, "logged\n", "text/plain");
	}

	// /stack[?msg=TEXT]: a caught exception's e.printStackTrace() (stderr).
	private static void stack(HttpExchange ex) throws IOException {
		try {
			failDeep(queryParam(ex, "msg", "boom"));
		} catch (IllegalStateException e) {
			e.printStackTrace();
		}
		reply(ex, 500, "stack\n", "text/plain");
	}

	private static void failDeep(String msg) {
		throw new IllegalStateException(msg);
	}

	private static String queryParam(HttpExchange ex, String key, String dflt) {
		String q = ex.getRequestURI().getRawQuery();
		if (q == null)
			return dflt;
		for (String kv : q.split("&")) {
			int eq = kv.indexOf('=');
			String k = eq < 0 ? kv : kv.substring(0, eq);
			if (k.equals(key))
				return eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1),
						StandardCharsets.UTF_8);
		}
		return dflt;
	}

	private static void headers(HttpExchange ex) throws IOException {
		int count = ex.getRequestHeaders().size();
		String tp = ex.getRequestHeaders().getFirst("traceparent");
		String json = "{\"header_count\":" + count + ",\"has_traceparent\":"
				+ (tp != null) + "}\n";
		reply(ex, 200, json, "application/json");
	}
}
