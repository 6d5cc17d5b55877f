using System.Diagnostics;
using System.Text.RegularExpressions;
using Xmit.Tap;

namespace Xmit.Tests.Interop;

/// <summary>
/// `tap udp-sink --no-hash` (what scripts/tap-throughput.sh measures, as its raw readers do not look at the payload
/// either): every datagram is still received and counted, and the report says the digest was not computed rather
/// than printing one. Root and /dev/net/tun, a namespace of its own.
/// </summary>
public class TapSinkNoHashTests
{
    [Fact]
    public async Task Without_the_hash_every_datagram_is_still_counted_and_the_digest_is_said_to_be_skipped()
    {
        string ns = $"xmit-nohash-{Environment.ProcessId}";
        var (created, error) = NetNamespace.Create(ns);
        Assert.True(created is not null, error);
        using (created)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "xmit.dll"));
            foreach (var a in $"tap --netns {ns} --dev xnh{Environment.ProcessId % 100000} --address 198.18.94.2/24 --peer 198.18.94.1 udp-sink 9000 --count 300 --duration 30s --no-hash".Split(' '))
                psi.ArgumentList.Add(a);
            using var sink = Process.Start(psi)!;
            var output = sink.StandardOutput.ReadToEndAsync();
            // Paced so that none is dropped on the way: the point is the count, not the rate.
            const string sender = "import socket,time,subprocess\n" +
                "for _ in range(200):\n  if b'198.18.94.1' in subprocess.run(['ip','addr'],capture_output=True).stdout: break\n  time.sleep(0.05)\n" +
                "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n" +
                "for _ in range(200):\n  try: s.sendto(b'x'*100,('198.18.94.2',9000)); break\n  except OSError: time.sleep(0.05)\n" +
                "time.sleep(0.3)\n" +
                "for i in range(299):\n  s.sendto(b'y'*100,('198.18.94.2',9000)); time.sleep(0.001)\n";
            var (code, _, err) = created!.Exec("python3", "-c", sender);
            Assert.True(code == 0, err);
            Assert.True(sink.WaitForExit(60_000));
            string text = await output;
            var m = Regex.Match(text, @"udp-sink: (\d+) datagrams, (\d+) bytes, .*; payload sha256 (.*)$", RegexOptions.Multiline);
            Assert.True(m.Success, text);
            Assert.Equal("300", m.Groups[1].Value);
            Assert.Equal("30000", m.Groups[2].Value);
            Assert.Equal("not computed (--no-hash)", m.Groups[3].Value.Trim());
        }
    }
}
