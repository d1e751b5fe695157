// Test client: java.net.http.HttpClient forced to HTTP/1.1.
// Run: java tests/peers/JdkClient.java <url> <count>
// Sends <count> sequential GETs (one pooled keep-alive connection) and
// prints one status code per line.

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class JdkClient {
	public static void main(String[] args) throws Exception {
		if (args.length < 1) {
			System.err.println("usage: JdkClient <url> [count]");
			System.exit(2);
		}
		int count = args.length > 1 ? Integer.parseInt(args[1]) : 1;
		HttpClient client = HttpClient.newBuilder()
				.version(HttpClient.Version.HTTP_1_1)
				.connectTimeout(Duration.ofSeconds(5))
				.build();
		HttpRequest req = HttpRequest.newBuilder(URI.create(args[0]))
				.timeout(Duration.ofSeconds(10))
				.GET()
				.build();
		for (int i = 0; i < count; i++) {
			HttpResponse<String> resp = client.send(req, HttpResponse.BodyHandlers.ofString());
			System.out.println(resp.statusCode());
		}
		System.out.flush();
	}
}
