// Test peer: real Java HTTP client libraries as applications use them
// (tests/bpf/test_real_clients.py). Run with the jars of pom.xml on the
// class path: java -cp '<jars>/*' JavaClients.java <mode> ...
//
//	okhttp <base>   OkHttp 4: one pooled client; GET, POST JSON, a body
//	                of unknown length (chunked), 404, a redirect chain it
//	                follows, 6 concurrent async calls; prints the statuses
//	apache <base>   Apache HttpClient 5 classic, pooled: the same calls
//	serve <base>    a JDK HttpServer (prints "READY <port>") whose /call/<lib>
//	                handler calls <base>/get/7 with that library and answers
//	                200 "called <status>": okhttp and apache on the handler's
//	                thread; okhttp-async (enqueue) on OkHttp's dispatcher
//	                threads and reactor (Reactor Netty, under Spring's
//	                WebClient) on its event loop, the handler waiting
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.BufferedSink;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.InputStreamEntity;
import org.apache.hc.core5.http.io.entity.StringEntity;
import reactor.netty.http.client.HttpClient;

public class JavaClients {
    static final MediaType JSON = MediaType.get("application/json");
    static final OkHttpClient OK = new OkHttpClient();
    static final CloseableHttpClient APACHE = HttpClients.createDefault();
    static final HttpClient REACTOR = HttpClient.create();

    static int ok(Request r) throws IOException {
        try (Response res = OK.newCall(r).execute()) {
            res.body().bytes();
            return res.code();
        }
    }

    static RequestBody unknownLength(int n) {
        return new RequestBody() {
            public MediaType contentType() { return JSON; }
            public long contentLength() { return -1; }
            public void writeTo(BufferedSink sink) throws IOException {
                for (int i = 0; i < n; i += 1000) {
                    sink.writeUtf8("o".repeat(Math.min(1000, n - i)));
                    sink.flush();
                }
            }
        };
    }

    static int okAsync(String url) {
        CompletableFuture<Integer> f = new CompletableFuture<>();
        OK.newCall(new Request.Builder().url(url).build()).enqueue(new Callback() {
            public void onFailure(Call c, IOException e) { f.completeExceptionally(e); }
            public void onResponse(Call c, Response res) throws IOException {
                try (res) {
                    res.body().bytes();
                    f.complete(res.code());
                }
            }
        });
        return f.join();
    }

    static List<Integer> okhttp(String base) throws Exception {
        List<Integer> out = new ArrayList<>();
        out.add(ok(new Request.Builder().url(base + "/get/1").build()));
        out.add(ok(new Request.Builder().url(base + "/echo")
                .post(RequestBody.create("{\"a\":1,\"b\":[2,3]}", JSON)).build()));
        out.add(ok(new Request.Builder().url(base + "/echo").post(unknownLength(3500)).build()));
        out.add(ok(new Request.Builder().url(base + "/status/404").build()));
        out.add(ok(new Request.Builder().url(base + "/redirect/2").build()));
        List<CompletableFuture<Integer>> many = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String url = base + "/sleep/" + (50 + 10 * i);
            many.add(CompletableFuture.supplyAsync(() -> okAsync(url)));
        }
        for (CompletableFuture<Integer> f : many)
            out.add(f.join());
        return out;
    }

    static int apache(ClassicHttpRequest r) throws IOException {
        return APACHE.execute(r, res -> {
            EntityUtils.consume(res.getEntity());
            return res.getCode();
        });
    }

    static List<Integer> apache(String base) throws Exception {
        List<Integer> out = new ArrayList<>();
        out.add(apache(new HttpGet(base + "/get/1")));
        HttpPost post = new HttpPost(base + "/echo");
        post.setEntity(new StringEntity("{\"a\":1,\"b\":[2,3]}", ContentType.APPLICATION_JSON));
        out.add(apache(post));
        HttpPost chunked = new HttpPost(base + "/echo");
        chunked.setEntity(new InputStreamEntity(new java.io.ByteArrayInputStream(
                "o".repeat(3500).getBytes(StandardCharsets.US_ASCII)), -1,
                ContentType.APPLICATION_JSON));
        out.add(apache(chunked));
        out.add(apache(new HttpGet(base + "/status/500")));
        out.add(apache(new HttpGet(base + "/redirect/2")));
        List<CompletableFuture<Integer>> many = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            String url = base + "/sleep/" + (50 + 10 * i);
            many.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return apache(new HttpGet(url));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            }));
        }
        for (CompletableFuture<Integer> f : many)
            out.add(f.join());
        return out;
    }

    static int call(String path, String url) throws IOException {
        if (path.endsWith("/okhttp"))
            return ok(new Request.Builder().url(url).build());
        if (path.endsWith("/okhttp-async"))
            return okAsync(url);
        if (path.endsWith("/reactor"))
            return REACTOR.get().uri(url)
                    .responseSingle((res, body) -> body.asString().map(b -> res.status().code()))
                    .block();
        return apache(new HttpGet(url));
    }

    static void serve(String base) throws Exception {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
        s.createContext("/call/", ex -> {
            int code;
            try {
                code = call(ex.getRequestURI().getPath(), base + "/get/7");
            } catch (IOException | RuntimeException e) {
                code = 0;
            }
            byte[] body = ("called " + code + "\n").getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(code == 200 ? 200 : 502, body.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(body);
            }
        });
        s.start();
        System.out.println("READY " + s.getAddress().getPort());
        System.out.flush();
    }

    public static void main(String[] a) throws Exception {
        if (a[0].equals("serve")) {
            serve(a[1]);
            return;
        }
        List<Integer> out = a[0].equals("okhttp") ? okhttp(a[1]) : apache(a[1]);
        StringBuilder b = new StringBuilder();
        for (int c : out)
            b.append(b.length() > 0 ? " " : "").append(c);
        System.out.println(b);
        OK.dispatcher().executorService().shutdown();
        OK.connectionPool().evictAll();
        APACHE.close();
    }
}
