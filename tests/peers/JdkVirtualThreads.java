// SPDX-License-Identifier: Apache-2.0
// A JDK HttpServer whose handlers run on virtual threads (JDK 21+): each
// GET /call/N calls the target twice (GET <target>/get/N with
// HttpURLConnection, which blocks the virtual thread and lets its carrier
// run others), then answers 200. Prints "READY <port>".
// Run: java JdkVirtualThreads.java <target base URL>
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.concurrent.Executors;

public class JdkVirtualThreads {
    static byte[] get(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        try (InputStream in = c.getInputStream()) {
            return in.readAllBytes();
        }
    }

    static void call(HttpExchange ex, String target) throws IOException {
        String n = ex.getRequestURI().getPath().substring("/call/".length());
        get(target + "/get/" + n);
        byte[] body = get(target + "/get/" + n);
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
        ex.close();
    }

    public static void main(String[] args) throws Exception {
        String target = args[0];
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        s.createContext("/call/", ex -> call(ex, target));
        s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        s.start();
        System.out.println("READY " + s.getAddress().getPort());
        System.out.flush();
    }
}
