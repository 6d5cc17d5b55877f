using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Xmit.Tests.Cli;

/// <summary>
/// The packages as a user gets them: `dotnet pack` of the repository gives the libraries and the xmit tool with real
/// metadata (description, license, readme, repository), the libraries depend on each other as packages, and the tool
/// installs from a local folder — nothing else as a source — and runs.
/// </summary>
public class PackagingTests
{
    private static readonly string[] Libraries = ["Xmit.Core", "Xmit.Hosting", "Xmit.Simulation", "Xmit.Tap", "Xmit.Packetdrill", "Xmit.AspNetCore"];

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Xmit.slnx"))) dir = dir.Parent;
        return dir!.FullName;
    }

    private static (int Code, string Output) Run(string file, string args, string cwd)
    {
        var psi = new ProcessStartInfo(file, args) { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), $"{file} {args} did not finish in 5 minutes");
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    private static XElement Nuspec(string nupkg)
    {
        using var zip = ZipFile.OpenRead(nupkg);
        var entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var s = entry.Open();
        return XDocument.Load(s).Root!;
    }

    [Fact]
    public void The_libraries_and_the_tool_pack_with_their_metadata_and_the_tool_installs_and_runs()
    {
        string root = RepositoryRoot();
        string work = Directory.CreateTempSubdirectory("xmit-pack-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed");
            var (code, output) = Run("dotnet", $"pack \"{Path.Combine(root, "Xmit.slnx")}\" -c Release --no-build -o \"{feed}\" -nologo", root);
            Assert.True(code == 0, output);
            foreach (var id in Libraries.Append("Xmit.Cli"))
            {
                string nupkg = Assert.Single(Directory.GetFiles(feed, $"{id}.*.nupkg"));
                var nuspec = Nuspec(nupkg);
                var ns = nuspec.Name.Namespace; // the schema version differs between a library and a tool
                var meta = nuspec.Element(ns + "metadata")!;
                Assert.Equal(id, meta.Element(ns + "id")!.Value);
                Assert.False(string.IsNullOrWhiteSpace(meta.Element(ns + "description")?.Value), $"{id} has no description");
                Assert.Equal("MIT", meta.Element(ns + "license")?.Value);
                Assert.Equal("README.md", meta.Element(ns + "readme")?.Value);
                Assert.Equal("git", meta.Element(ns + "repository")?.Attribute("type")?.Value);
                using var zip = ZipFile.OpenRead(nupkg);
                Assert.Contains(zip.Entries, e => e.FullName == "README.md");
                Assert.Contains(zip.Entries, e => e.FullName == "LICENSE");
            }
            // A library's project references become package dependencies.
            var tap = Nuspec(Directory.GetFiles(feed, "Xmit.Tap.*.nupkg").Single());
            var deps = tap.Descendants(tap.Name.Namespace + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
            Assert.Contains("Xmit.Core", deps);
            Assert.Contains("Xmit.Hosting", deps);
            Assert.Empty(Directory.GetFiles(feed, "Xmit.Fuzz.*")); // shipped inside the tool
            Assert.Empty(Directory.GetFiles(feed, "Xmit.Tests.*"));

            // The tool, from the local folder only (a nuget.config that clears every other source).
            string config = Path.Combine(work, "nuget.config");
            File.WriteAllText(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><clear /><add key="local" value="{feed}" /></packageSources></configuration>
                """);
            string tools = Path.Combine(work, "tools");
            (code, output) = Run("dotnet", $"tool install Xmit.Cli --tool-path \"{tools}\" --configfile \"{config}\"", work);
            Assert.True(code == 0, output);
            (code, output) = Run(Path.Combine(tools, "xmit"), "sim --duration 100ms --json", work);
            Assert.True(code == 0, output);
            Assert.Contains("\"simulatedPackets\"", output);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
