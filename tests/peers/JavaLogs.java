// Test peer for log capture (tests/bpf/test_logs_edge.py): a JVM writing
// stack traces the ways Java programs do, from two threads at once. Waits
// for a line on stdin, then each of threads "a" and "b" five times:
//  - logs an ERROR line with a deep exception's trace in one write of
//    over 8 KiB to System.out, as logback's ConsoleAppender does;
//  - prints another exception with e.printStackTrace() (System.err, one
//    write per line).
// Prints "done" on System.err at the end.
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

public class JavaLogs {
	static RuntimeException deep(String msg, int depth) {
		if (depth == 0)
			return new IllegalStateException(msg);
		return deep(msg, depth - 1);
	}

	static void logbackStyle(String who, int i) {
		RuntimeException e = deep("deep " + who + " " + i, 300);
		ByteArrayOutputStream buf = new ByteArrayOutputStream();
		PrintStream p = new PrintStream(buf, true, StandardCharsets.UTF_8);
		p.println("ERROR [" + who + "] request " + i + " failed");
		e.printStackTrace(p);
		byte[] event = buf.toByteArray();
		synchronized (System.out) {
			System.out.write(event, 0, event.length);
			System.out.flush();
		}
	}

	public static void main(String[] args) throws Exception {
		System.in.read();
		Thread[] ts = new Thread[2];
		for (int k = 0; k < 2; k++) {
			String who = k == 0 ? "a" : "b";
			ts[k] = new Thread(() -> {
				for (int i = 0; i < 5; i++) {
					logbackStyle(who, i);
					new IllegalArgumentException("plain " + who + " " + i)
						.printStackTrace();
				}
			}, who);
		}
		for (Thread t : ts)
			t.start();
		for (Thread t : ts)
			t.join();
		System.err.println("done");
	}
}
