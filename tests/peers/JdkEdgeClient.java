// Test client: java.net.http.HttpClient (HTTP/1.1) in awkward but legal
// exchanges, on one pooled keep-alive connection, in this order:
//   POST <base>/echo, 100 000 bytes of known length, Expect: 100-continue
//   POST <base>/echo, 100 000 bytes from an InputStream (no length: chunked)
//   HEAD <base>/file
//   GET  <base>/big (a chunked response)
// Run: java tests/peers/JdkEdgeClient.java <base_url>
// Prints one status code per line.

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class JdkEdgeClient {
	public static void main(String[] args) throws Exception {
		String base = args[0];
		byte[] body = new byte[100000];
		java.util.Arrays.fill(body, (byte) 'j');
		HttpClient client = HttpClient.newBuilder()
				.version(HttpClient.Version.HTTP_1_1)
				.connectTimeout(Duration.ofSeconds(5))
				.build();
		HttpRequest[] reqs = {
			HttpRequest.newBuilder(URI.create(base + "/echo")).expectContinue(true)
				.POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
			HttpRequest.newBuilder(URI.create(base + "/echo"))
				.POST(HttpRequest.BodyPublishers.ofInputStream(
					() -> new ByteArrayInputStream(body))).build(),
			HttpRequest.newBuilder(URI.create(base + "/file"))
				.method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
			HttpRequest.newBuilder(URI.create(base + "/big")).GET().build(),
		};
		for (HttpRequest r : reqs) {
			HttpResponse<byte[]> resp = client.send(r, HttpResponse.BodyHandlers.ofByteArray());
			System.out.println(resp.statusCode());
		}
		System.out.flush();
	}
}
