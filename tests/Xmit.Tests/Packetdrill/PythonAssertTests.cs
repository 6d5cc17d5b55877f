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

    [Fact]
    public void Print_evaluates_its_arguments_and_keeps_what_it_printed()
    {
        // tcp/cubic/cubic-bulk-166k.pkt's block: print, then assert, on one line.
        var py = new PythonAssert(Field, []);
        Assert.Null(py.Run(" print(tcpi_rwnd_limited); assert tcpi_rwnd_limited == 300000, tcpi_rwnd_limited "));
        Assert.Null(py.Run("print(tcpi_busy_time // 1000, 1 + 2)"));
        Assert.Equal(["300000", "330 3"], py.Printed);
        Assert.Throws<NotSupportedException>(() => py.Run("print(tcpi_nonsense)"));
    }

    [Fact]
    public void Augmented_assignment_keeps_the_variable_across_blocks()
    {
        // tcp/cubic/cubic-bulk-166k.pkt: "cwnd = 58" in one block, "cwnd += 1; assert tcpi_snd_cwnd == cwnd" in later ones.
        var vars = new Dictionary<string, long>();
        Assert.Null(new PythonAssert(Field, vars).Run(" cwnd = 58; assert cwnd == 58, cwnd "));
        Assert.Null(new PythonAssert(Field, vars).Run(" cwnd += 1; assert cwnd == 59, cwnd "));
        Assert.Null(new PythonAssert(Field, vars).Run("cwnd += 10"));
        Assert.Equal(69, vars["cwnd"]);
        Assert.Null(new PythonAssert(Field, vars).Run("cwnd -= 2 * 3; cwnd *= 2"));
        Assert.Equal(126, vars["cwnd"]);
        Assert.NotNull(new PythonAssert(Field, vars).Run("cwnd += 1; assert cwnd == 126"));
        Assert.Throws<NotSupportedException>(() => new PythonAssert(Field, vars).Run("1 += 2"));
    }
}
