using Xmit.Packetdrill;

namespace Xmit.Tests.Packetdrill;

/// <summary>The runner's small Python: the statement forms corpus scripts use in their %{ }% blocks.</summary>
public class PythonAssertTests
{
    private static long? Field(string name) => name switch { "tcpi_rwnd_limited" => 300_000, "tcpi_busy_time" => 330_000, _ => null };

    [Fact]
    public void A_backslash_joins_lines_so_asserts_can_be_chained_with_semicolons()
    {
        // tcp/tcp_info/tcp-info-rwnd-limited.pkt's block: two asserts on lines ending in ";\".
        const string code = " assert 298000 <= tcpi_rwnd_limited <= 310000, tcpi_rwnd_limited;\\\n assert 328000 <= tcpi_busy_time <= 340000, tcpi_busy_time;\\\n";
        Assert.Null(new PythonAssert(Field, []).Run(code));
        Assert.NotNull(new PythonAssert(Field, []).Run(code.Replace("328000", "331000", StringComparison.Ordinal)));
    }
}
