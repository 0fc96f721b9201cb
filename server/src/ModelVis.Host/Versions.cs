using System.Reflection;

namespace ModelVis.Host;

public static class Versions
{
    public static string Product { get; } =
        typeof(Versions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.1.0";
}
