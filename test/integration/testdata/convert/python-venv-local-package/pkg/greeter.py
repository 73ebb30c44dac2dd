def main():
    print("hello from greeter")
