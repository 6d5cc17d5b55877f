using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Xml.Linq;

namespace Xmit.Tests.Cli;

/// <summary>
/// The packages as a user gets them: `dotnet pack` of the repository gives the libraries and the xmit tool with real
/// metadata (description, license, readme, repository), the libraries depend on each other as packages, and the tool
/// installs from a local folder — nothing else as a source — and runs. The tool comes as .NET 10 RID-specific packages:
/// the one a linux-x64 user gets is precompiled (ReadyToRun), so a short run does not spend most of its time in the JIT.
/// </summary>
public class PackagingTests
{
    /// <summary>Package id → project, for the libraries (packed from the build the tests run on).</summary>
    private static readonly (string Id, string Project)[] Libraries =
    [
        ("Xmit.Core", "src/Xmit/Xmit.csproj"), ("Xmit.Hosting", "src/Xmit.Hosting/Xmit.Hosting.csproj"),
        ("Xmit.Simulation", "src/Xmit.Simulation/Xmit.Simulation.csproj"), ("Xmit.Tap", "src/Xmit.Tap/Xmit.Tap.csproj"),
        ("Xmit.Packetdrill", "src/Xmit.Packetdrill/Xmit.Packetdrill.csproj"), ("Xmit.AspNetCore", "src/Xmit.AspNetCore/Xmit.AspNetCore.csproj"),
    ];

    /// <summary>
    /// An assembly precompiled by crossgen2 carries a ReadyToRun header (the CLI header's ManagedNativeHeader
    /// directory); a plain IL assembly has none.
    /// </summary>
    internal static bool IsReadyToRun(Stream assembly)
    {
        using var pe = new PEReader(assembly);
        return pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0;
    }

    private static bool IsReadyToRun(ZipArchive zip, string entryName)
    {
        using var s = zip.Entries.Single(e => e.FullName.EndsWith("/" + entryName, StringComparison.Ordinal)).Open();
        using var copy = new MemoryStream(); // PEReader needs a seekable stream
        s.CopyTo(copy);
        copy.Position = 0;
        return IsReadyToRun(copy);
    }

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

    /// <summary>The one package <paramref name="id"/> in the feed (Xmit.Cli, not Xmit.Cli.any: the version follows the id).</summary>
    private static string Package(string feed, string id) =>
        Assert.Single(Directory.GetFiles(feed, $"{id}.*.nupkg"), f => char.IsDigit(Path.GetFileName(f)[id.Length + 1]));

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
            // The libraries from the build under test; the tool's RID-specific packages need their own builds
            // (bin/Release/net10.0/linux-x64 and any/), which `dotnet pack` of the tool runs (no restore: the
            // solution's restore already covered both runtimes and crossgen2).
            int code;
            string output;
            foreach (var (_, project) in Libraries)
            {
                (code, output) = Run("dotnet", $"pack \"{Path.Combine(root, project)}\" -c Release --no-build -o \"{feed}\" -nologo", root);
                Assert.True(code == 0, output);
            }
            (code, output) = Run("dotnet", $"pack \"{Path.Combine(root, "src/Xmit.Cli/Xmit.Cli.csproj")}\" -c Release --no-restore -o \"{feed}\" -nologo", root);
            Assert.True(code == 0, output);
            foreach (var id in Libraries.Select(l => l.Id).Append("Xmit.Cli").Append("Xmit.Cli.linux-x64").Append("Xmit.Cli.any"))
            {
                string nupkg = Package(feed, id);
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

            // The pointer package Xmit.Cli holds no implementation; the linux-x64 one is precompiled, the portable
            // one (`any`, for every other platform) is plain IL.
            using (var pointer = ZipFile.OpenRead(Package(feed, "Xmit.Cli")))
                Assert.DoesNotContain(pointer.Entries, e => e.FullName.EndsWith(".dll", StringComparison.Ordinal));
            using (var rid = ZipFile.OpenRead(Package(feed, "Xmit.Cli.linux-x64")))
            {
                Assert.True(IsReadyToRun(rid, "xmit.dll"), "the linux-x64 tool package's xmit.dll is not ReadyToRun");
                Assert.True(IsReadyToRun(rid, "Xmit.Core.dll"), "the linux-x64 tool package's Xmit.Core.dll is not ReadyToRun");
            }
            using (var any = ZipFile.OpenRead(Package(feed, "Xmit.Cli.any")))
                Assert.False(IsReadyToRun(any, "xmit.dll"), "the portable tool package's xmit.dll is precompiled for one platform");
            if (RuntimeInformation.RuntimeIdentifier == "linux-x64")
            {
                // `dotnet tool install` chose the precompiled package for this machine.
                string installed = Path.GetDirectoryName(new FileInfo(Path.Combine(tools, "xmit")).ResolveLinkTarget(returnFinalTarget: true)!.FullName)!;
                Assert.Contains("xmit.cli.linux-x64", installed, StringComparison.Ordinal);
                using var dll = File.OpenRead(Path.Combine(installed, "xmit.dll"));
                Assert.True(IsReadyToRun(dll), $"{installed}/xmit.dll is not ReadyToRun");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
